package control

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Parsing directory listings: MLSD lines (RFC 3659) and LIST lines (Unix
// ls -l and DOS/IIS styles) into Entry values. Pure functions, no I/O:
// listing.go reads the data connection. Names are returned exactly as the
// server sent them: deciding which names are safe to use locally is the
// caller's business.
//
// This file holds what the dialects share (Entry, the errors, the
// field and date helpers) and the entry points: ParseListLine, which
// tells the LIST dialects apart, and the listing-wide parser. The
// dialects are in listparse_mlsd.go, listparse_ls.go and
// listparse_dos.go.

// EntryType is the kind of a directory entry.
type EntryType int

// The kinds of directory entries. The zero value is Other, so that an
// entry whose type is unknown is never taken for a file.
const (
	Other EntryType = iota // devices, pipes, sockets, unknown or missing types
	File
	Dir
	Link
)

func (t EntryType) String() string {
	switch t {
	case Other:
		return "other"
	case File:
		return "file"
	case Dir:
		return "dir"
	case Link:
		return "link"
	}
	return "EntryType(" + strconv.Itoa(int(t)) + ")"
}

// Entry is one directory entry.
type Entry struct {
	// Name is the name as the server sent it; NOT sanitised: it may hold
	// "/", "..", leading or trailing spaces, control bytes or invalid UTF-8.
	// It is never empty, "." or "..", and never holds '\n'.
	Name string
	Type EntryType
	// Size is the size in bytes, -1 if unknown (device files, MLSD entries
	// without a size fact).
	Size int64
	// ModTime is zero if unknown. MLSD times are UTC. LIST times are best
	// effort: a listing carries the server's wall clock without a zone, so
	// they are that wall clock labelled UTC; a "Mon DD HH:MM" date gets the
	// latest year that puts it no more than 6 months after now's wall clock.
	ModTime time.Time
	// Target is a symbolic link's target from LIST "name -> target", or
	// from an MLSD type=OS.unix=slink:target fact.
	Target string
	// Facts are the MLSD facts with lower-case names; nil for LIST.
	Facts Facts
}

// ErrBadListing reports a directory listing that cannot be parsed: a line
// in an unknown format, or a field that makes no sense. The error names the
// line. Trying again will not help.
var ErrBadListing = errors.New("unparseable directory listing")

// errLine quotes at most this many bytes of a bad line.
const errLineMax = 200

func badLine(kind, line, why string) error {
	if len(line) > errLineMax {
		line = line[:errLineMax] + "..."
	}
	return fmt.Errorf("%w: %s line %q: %s", ErrBadListing, kind, line, why)
}

// trimEOL removes one line ending ("\n", "\r\n" or "\r").
func trimEOL(line string) string {
	line = strings.TrimSuffix(line, "\n")
	return strings.TrimSuffix(line, "\r")
}

// ParseListLine parses one line of a LIST listing, in Unix ls -l format
// (with or without the links and group columns, numeric ids, device
// numbers instead of a size, "name -> target" for symbolic links,
// "Mon DD HH:MM", "Mon DD YYYY" or ISO dates) or in the DOS format of
// Microsoft IIS ("01-02-06  03:04PM  <DIR>  name", "01-02-2006  15:04  1234
// name"). The name is the rest of the line after the date and exactly one
// separator, so names with spaces, leading spaces included, survive. now is
// used to infer the year of "Mon DD HH:MM" dates. ok is false, with no
// error, for lines to skip: blank lines, "total N", and the names "." and
// "..". A line in any other format is an ErrBadListing error that quotes it.
func ParseListLine(line string, now time.Time) (e Entry, ok bool, err error) {
	line = trimEOL(line)
	if strings.IndexByte(line, '\n') >= 0 {
		return Entry{}, false, badLine("LIST", line, "more than one line")
	}
	fs := splitFields(line, 12)
	switch {
	case len(fs) == 0:
		return Entry{}, false, nil
	case len(fs) == 2 && strings.EqualFold(fs[0].s, "total") && allDigits(fs[1].s):
		return Entry{}, false, nil
	}
	if isDOSDate(fs[0].s) {
		e, err = parseDOS(line, fs)
	} else {
		e, err = parseUnix(line, fs, now)
	}
	if err != nil {
		return Entry{}, false, err
	}
	if e.Name == "." || e.Name == ".." {
		return Entry{}, false, nil
	}
	return e, true, nil
}

// field is one whitespace-separated field of a line, and where it ends.
type field struct {
	s   string
	end int // index in the line just after the field
}

func isSep(b byte) bool { return b == ' ' || b == '\t' }

// splitFields returns the first n fields of line.
func splitFields(line string, n int) []field {
	var out []field
	i := 0
	for len(out) < n {
		for i < len(line) && isSep(line[i]) {
			i++
		}
		if i == len(line) {
			break
		}
		j := i
		for j < len(line) && !isSep(line[j]) {
			j++
		}
		out = append(out, field{line[i:j], j})
		i = j
	}
	return out
}

// restAfter is the line after the field ending at end and one separator.
func restAfter(line string, end int) string {
	if end+1 > len(line) {
		return ""
	}
	return line[end+1:]
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoiN parses s, made of 1 to max digits, and checks lo <= n <= hi.
func atoiN(s string, maxLen, lo, hi int) (int, bool) {
	if len(s) == 0 || len(s) > maxLen || !allDigits(s) {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, n >= lo && n <= hi
}

// parseHHMM parses "15:04" or "5:04".
func parseHHMM(s string) (h, m int, ok bool) {
	hs, ms, found := strings.Cut(s, ":")
	if !found || len(ms) != 2 {
		return 0, 0, false
	}
	h, ok1 := atoiN(hs, 2, 0, 23)
	m, ok2 := atoiN(ms, 2, 0, 59)
	return h, m, ok1 && ok2
}

// validDate builds the date and checks that it did not roll over (Feb 30).
func validDate(y int, mo time.Month, d, h, mi, s, ns int) (time.Time, bool) {
	t := time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	return t, t.Year() == y && t.Month() == mo && t.Day() == d
}

// maxBadLines bounds how many bad lines a listing's error names.
const maxBadLines = 10

// listParser parses a listing's lines one at a time, numbering them for
// the errors that name a bad one.
type listParser struct {
	cmd  string // "MLSD /pub": named in errors
	mlsd bool
	now  time.Time // for LIST dates without a year
	n    int       // lines so far
}

// parse parses the next line, without its "\n" (the parsers remove the
// "\r" of a "\r\n", and only that one). ok is false for a line that holds
// no entry ("total 8", ".").
func (p *listParser) parse(line string) (e Entry, ok bool, err error) {
	p.n++
	if p.mlsd {
		e, ok, err = ParseMLSDLine(line)
	} else {
		e, ok, err = ParseListLine(line, p.now)
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("%s: line %d: %w", p.cmd, p.n, err)
	}
	return e, ok, nil
}

// tooLong is the error for the next line, which is longer than anyone
// holds: start is its start.
func (p *listParser) tooLong(start []byte) error {
	p.n++
	return fmt.Errorf("%s: line %d: %w", p.cmd, p.n, badLine(p.kind(), string(start), "longer than "+strconv.Itoa(len(start))+" bytes"))
}

func (p *listParser) kind() string {
	if p.mlsd {
		return "MLSD"
	}
	return "LIST"
}

// listing collects a listing's entries, and the errors of its bad lines
// (the first maxBadLines of them, then their count).
type listing struct {
	out  []Entry
	bad  []error
	nbad int
}

// add is a ListFunc callback.
func (l *listing) add(e Entry, err error) error {
	if err == nil {
		l.out = append(l.out, e)
	} else if l.nbad++; l.nbad <= maxBadLines {
		l.bad = append(l.bad, err)
	}
	return nil
}

// result is the entries, with an error wrapping ErrBadListing that names
// the bad lines, if any.
func (l *listing) result() ([]Entry, error) {
	if l.nbad > maxBadLines {
		l.bad = append(l.bad, fmt.Errorf("%d more bad lines", l.nbad-maxBadLines))
	}
	return l.out, errors.Join(l.bad...)
}

// parseListing splits data into lines ("\n" or "\r\n") and parses them,
// as List does with the lines as they arrive. A line that cannot be parsed
// does not hide the others: they are returned, with an error wrapping
// ErrBadListing that names the bad lines (the first maxBadLines of them).
func parseListing(cmd string, mlsd bool, data []byte, now time.Time) ([]Entry, error) {
	p := listParser{cmd: cmd, mlsd: mlsd, now: now}
	var l listing
	for len(data) > 0 {
		var line string
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = string(data[:i]), data[i+1:]
		} else {
			line, data = string(data), nil
		}
		e, ok, err := p.parse(line)
		if err != nil || ok {
			l.add(e, err)
		}
	}
	return l.result()
}
