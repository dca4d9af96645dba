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

// ---- MLSD ----

// ParseMLSDLine parses one line of an MLSD listing (RFC 3659 7.2):
// "type=file;size=12;modify=20240101120000; name". Fact names and the
// values of type are case-insensitive. The name is everything after the
// first space. ok is false, with no error, for lines to skip: blank lines,
// type=cdir and type=pdir entries, and the names "." and "..".
func ParseMLSDLine(line string) (e Entry, ok bool, err error) {
	line = trimEOL(line)
	if strings.IndexByte(line, '\n') >= 0 {
		return Entry{}, false, badLine("MLSD", line, "more than one line")
	}
	if strings.TrimSpace(line) == "" {
		return Entry{}, false, nil
	}
	sp := strings.IndexByte(line, ' ')
	if sp < 0 {
		return Entry{}, false, badLine("MLSD", line, "no space between the facts and the name")
	}
	e = Entry{Name: line[sp+1:], Size: -1, Facts: Facts{}}
	if e.Name == "" {
		return Entry{}, false, badLine("MLSD", line, "empty name")
	}
	for _, f := range strings.Split(line[:sp], ";") {
		if f == "" {
			continue
		}
		k, v, found := strings.Cut(f, "=")
		if !found || k == "" {
			return Entry{}, false, badLine("MLSD", line, fmt.Sprintf("fact %q is not name=value", f))
		}
		e.Facts[strings.ToLower(k)] = v
	}
	if t, has := e.Facts["type"]; has {
		lt := strings.ToLower(t)
		switch {
		case lt == "file":
			e.Type = File
		case lt == "dir":
			e.Type = Dir
		case lt == "cdir" || lt == "pdir":
			return Entry{}, false, nil
		case strings.HasPrefix(lt, "os.unix=slink"), strings.HasPrefix(lt, "os.unix=symlink"):
			e.Type = Link
			if _, target, found := strings.Cut(t, ":"); found {
				e.Target = target
			}
		default:
			e.Type = Other
		}
	}
	if e.Name == "." || e.Name == ".." {
		return Entry{}, false, nil
	}
	if s, has := e.Facts["size"]; has {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || !allDigits(s) {
			return Entry{}, false, badLine("MLSD", line, fmt.Sprintf("size %q", s))
		}
		e.Size = n
	}
	if m, has := e.Facts["modify"]; has {
		t, err := ParseTime(m)
		if err != nil {
			return Entry{}, false, badLine("MLSD", line, fmt.Sprintf("modify %q", m))
		}
		e.ModTime = t
	}
	return e, true, nil
}

// ---- LIST ----

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

// unixType reads the permission field of ls -l: a type letter and nine
// permission characters, plus an optional ACL/SELinux/xattr marker ("+",
// ".", "@"). Servers built on Go's fs.FileMode (ftpserverlib) print its
// String instead: one or more type letters ("L" symlink, "D" device,
// "Dc" character device, "u" setuid file...) before the nine characters.
func unixType(perm string) (EntryType, bool) {
	if n := len(perm); n > 10 && strings.IndexByte("+.@", perm[n-1]) >= 0 {
		perm = perm[:n-1]
	}
	if len(perm) < 10 || len(perm) > 14 {
		return 0, false
	}
	prefix, bits := perm[:len(perm)-9], perm[len(perm)-9:]
	for i := 0; i < len(bits); i++ {
		if strings.IndexByte("-rwxsStTlL?", bits[i]) < 0 {
			return 0, false
		}
	}
	if len(prefix) == 1 {
		switch prefix[0] {
		case '-':
			return File, true
		case 'd':
			return Dir, true
		case 'l', 'L':
			return Link, true
		case 'b', 'c', 'p', 's', 'S', 'D', 'n', 'P', 'w', '?':
			return Other, true
		case 'a', 'u', 'g', 't', 'T': // Go: append-only, setuid, setgid, sticky, temporary file
			return File, true
		}
		return 0, false
	}
	// Go's FileMode.String: several of "dalTLDpSugct?".
	typ := File
	for i := 0; i < len(prefix); i++ {
		switch c := prefix[i]; {
		case strings.IndexByte("dalTLDpSugct?", c) < 0:
			return 0, false
		case c == 'd':
			typ = Dir
		case c == 'L':
			typ = Link
		case strings.IndexByte("DpSc?", c) >= 0 && typ == File:
			typ = Other
		}
	}
	return typ, true
}

var months = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March,
	"apr": time.April, "may": time.May, "jun": time.June,
	"jul": time.July, "aug": time.August, "sep": time.September,
	"oct": time.October, "nov": time.November, "dec": time.December,
}

func parseMonth(s string) (time.Month, bool) {
	if len(s) != 3 {
		return 0, false
	}
	m, ok := months[strings.ToLower(s)]
	return m, ok
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

// inferYear dates "Mon DD HH:MM": the latest year that puts it no more
// than 6 months after now's wall clock.
func inferYear(now time.Time, mo time.Month, d, h, mi int) (time.Time, bool) {
	wall := time.Date(now.Year(), now.Month(), now.Day(), now.Hour(), now.Minute(), now.Second(), now.Nanosecond(), time.UTC)
	limit := wall.AddDate(0, 6, 0)
	for y := wall.Year() + 1; y >= wall.Year()-8; y-- {
		if t, ok := validDate(y, mo, d, h, mi, 0, 0); ok && !t.After(limit) {
			return t, true
		}
	}
	return time.Time{}, false
}

// unixDate recognises the date at fs[i]: "Mon DD HH:MM", "Mon DD YYYY",
// "YYYY-MM-DD HH:MM[:SS]" or "YYYY-MM-DD HH:MM:SS.fff +hhmm" (ls
// --full-time). It returns the date and the index of its last field.
func unixDate(fs []field, i int, now time.Time) (t time.Time, last int, ok bool, bad string) {
	if mo, isMonth := parseMonth(fs[i].s); isMonth {
		if i+2 >= len(fs) {
			return time.Time{}, 0, false, ""
		}
		d, ok := atoiN(fs[i+1].s, 2, 1, 31)
		if !ok {
			return time.Time{}, 0, false, ""
		}
		third := fs[i+2].s
		if h, mi, ok := parseHHMM(third); ok {
			t, ok := inferYear(now, mo, d, h, mi)
			if !ok {
				return time.Time{}, 0, false, fmt.Sprintf("no year has %s %d", mo, d)
			}
			return t, i + 2, true, ""
		}
		if len(third) == 4 && allDigits(third) {
			y, _ := strconv.Atoi(third)
			t, ok := validDate(y, mo, d, 0, 0, 0, 0)
			if !ok {
				return time.Time{}, 0, false, fmt.Sprintf("invalid date %s %d %d", mo, d, y)
			}
			return t, i + 2, true, ""
		}
		return time.Time{}, 0, false, ""
	}
	ds := fs[i].s
	if len(ds) != 10 || ds[4] != '-' || ds[7] != '-' || i+1 >= len(fs) {
		return time.Time{}, 0, false, ""
	}
	y, ok1 := atoiN(ds[:4], 4, 0, 9999)
	mo, ok2 := atoiN(ds[5:7], 2, 1, 12)
	d, ok3 := atoiN(ds[8:], 2, 1, 31)
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, 0, false, ""
	}
	ts := fs[i+1].s
	var h, mi, sec, ns int
	frac := false
	switch {
	case len(ts) == 5:
		var ok bool
		if h, mi, ok = parseHHMM(ts); !ok {
			return time.Time{}, 0, false, ""
		}
	case len(ts) >= 8 && ts[5] == ':':
		var ok bool
		if h, mi, ok = parseHHMM(ts[:5]); !ok {
			return time.Time{}, 0, false, ""
		}
		if sec, ok = atoiN(ts[6:8], 2, 0, 59); !ok {
			return time.Time{}, 0, false, ""
		}
		if len(ts) > 8 {
			f := ts[9:]
			if ts[8] != '.' || len(f) == 0 || len(f) > 9 || !allDigits(f) {
				return time.Time{}, 0, false, ""
			}
			ns, _ = strconv.Atoi(f + strings.Repeat("0", 9-len(f)))
			frac = true
		}
	default:
		return time.Time{}, 0, false, ""
	}
	t, ok = validDate(y, time.Month(mo), d, h, mi, sec, ns)
	if !ok {
		return time.Time{}, 0, false, fmt.Sprintf("invalid date %s", ds)
	}
	if !frac {
		return t, i + 1, true, ""
	}
	// ls --full-time: a zone follows the fractional seconds.
	if i+2 >= len(fs) {
		return time.Time{}, 0, false, ""
	}
	z := fs[i+2].s
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return time.Time{}, 0, false, ""
	}
	zh, ok1 := atoiN(z[1:3], 2, 0, 23)
	zm, ok2 := atoiN(z[3:], 2, 0, 59)
	if !ok1 || !ok2 {
		return time.Time{}, 0, false, ""
	}
	off := time.Duration(zh)*time.Hour + time.Duration(zm)*time.Minute
	if z[0] == '-' {
		off = -off
	}
	return t.Add(-off), i + 2, true, ""
}

// parseUnix parses ls -l output: perm [links] owner [group] size date name.
// The date is found as the first field from the fourth on that starts a
// valid date and follows a size, so a date-like name cannot move it.
func parseUnix(line string, fs []field, now time.Time) (Entry, error) {
	typ, ok := unixType(fs[0].s)
	if !ok {
		return Entry{}, badLine("LIST", line, "unknown format")
	}
	for i := 3; i <= 7 && i < len(fs); i++ {
		prev := fs[i-1].s
		device := typ == Other && (isDeviceNumbers(prev) || allDigits(prev) && strings.HasSuffix(fs[i-2].s, ","))
		if !allDigits(prev) && !device {
			continue
		}
		t, last, ok, bad := unixDate(fs, i, now)
		if bad != "" {
			return Entry{}, badLine("LIST", line, bad)
		}
		if !ok {
			continue
		}
		size := int64(-1)
		if !device {
			n, err := strconv.ParseInt(prev, 10, 64)
			if err != nil {
				return Entry{}, badLine("LIST", line, fmt.Sprintf("size %q", prev))
			}
			size = n
		}
		name := restAfter(line, fs[last].end)
		if name == "" {
			return Entry{}, badLine("LIST", line, "no name")
		}
		e := Entry{Name: name, Type: typ, Size: size, ModTime: t}
		if typ == Link {
			if n, target, found := strings.Cut(name, " -> "); found {
				if n == "" {
					return Entry{}, badLine("LIST", line, "no name")
				}
				e.Name, e.Target = n, target
			}
		}
		return e, nil
	}
	return Entry{}, badLine("LIST", line, "no size and date where ls -l puts them")
}

// isDeviceNumbers reports "major,minor".
func isDeviceNumbers(s string) bool {
	a, b, found := strings.Cut(s, ",")
	return found && allDigits(a) && allDigits(b)
}

// isDOSDate reports "MM-DD-YY" or "MM-DD-YYYY".
func isDOSDate(s string) bool {
	if len(s) != 8 && len(s) != 10 {
		return false
	}
	return s[2] == '-' && s[5] == '-' && allDigits(s[:2]) && allDigits(s[3:5]) && allDigits(s[6:])
}

// iisDirPad is how many spaces IIS writes after "<DIR>".
const iisDirPad = 10

// parseDOS parses the IIS format: "MM-DD-YY  hh:mmAM  <DIR>  name" or
// "MM-DD-YYYY  HH:MM  size name".
func parseDOS(line string, fs []field) (Entry, error) {
	ds := fs[0].s
	mo, ok1 := atoiN(ds[:2], 2, 1, 12)
	d, ok2 := atoiN(ds[3:5], 2, 1, 31)
	if !ok1 || !ok2 {
		return Entry{}, badLine("LIST", line, "invalid date")
	}
	y, _ := strconv.Atoi(ds[6:])
	if len(ds) == 8 { // as strptime's %y
		if y < 69 {
			y += 2000
		} else {
			y += 1900
		}
	}
	if len(fs) < 3 {
		return Entry{}, badLine("LIST", line, "unknown format")
	}
	i := 1
	ts := fs[i].s
	ampm := ""
	if n := len(ts); n > 2 {
		switch strings.ToUpper(ts[n-2:]) {
		case "AM", "PM":
			ts, ampm = ts[:n-2], strings.ToUpper(ts[n-2:])
		}
	}
	if ampm == "" && i+1 < len(fs) {
		if u := strings.ToUpper(fs[i+1].s); u == "AM" || u == "PM" {
			ampm = u
			i++
		}
	}
	h, mi, ok := parseHHMM(ts)
	if !ok {
		return Entry{}, badLine("LIST", line, "invalid time")
	}
	if ampm != "" {
		if h > 12 {
			return Entry{}, badLine("LIST", line, "invalid time")
		}
		h %= 12
		if ampm == "PM" {
			h += 12
		}
	}
	t, ok := validDate(y, time.Month(mo), d, h, mi, 0, 0)
	if !ok {
		return Entry{}, badLine("LIST", line, "invalid date")
	}
	i++
	if i >= len(fs) {
		return Entry{}, badLine("LIST", line, "no size")
	}
	e := Entry{Type: File, Size: -1, ModTime: t}
	sf := fs[i]
	switch {
	case strings.EqualFold(sf.s, "<DIR>"):
		e.Type = Dir
		rest := line[sf.end:]
		pad := 0
		for pad < len(rest) && isSep(rest[pad]) {
			pad++
		}
		if pad >= iisDirPad {
			pad = iisDirPad
		}
		e.Name = rest[pad:]
	case allDigits(sf.s):
		n, err := strconv.ParseInt(sf.s, 10, 64)
		if err != nil {
			return Entry{}, badLine("LIST", line, fmt.Sprintf("size %q", sf.s))
		}
		e.Size = n
		e.Name = restAfter(line, sf.end)
	default:
		return Entry{}, badLine("LIST", line, "no size or <DIR>")
	}
	if e.Name == "" {
		return Entry{}, badLine("LIST", line, "no name")
	}
	return e, nil
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
