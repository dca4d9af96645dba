package control

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the directory listing parsers. Seed corpora live in
// testdata/fuzz/<target>; run one with e.g.
//
//	go test -run '^$' -fuzz '^FuzzParseListLine$' -fuzztime 20s ./control

// checkEntryInvariants checks what every parsed entry must satisfy.
func checkEntryInvariants(t *testing.T, kind, line string, e Entry, ok bool, err error) {
	t.Helper()
	if err != nil {
		if ok {
			t.Errorf("%s %q: ok with error %v", kind, line, err)
		}
		if !errors.Is(err, ErrBadListing) {
			t.Errorf("%s %q: error %v is not ErrBadListing", kind, line, err)
		}
		return
	}
	if !ok {
		if !sameEntry(e, Entry{}) {
			t.Errorf("%s %q: skipped line with entry %+v", kind, line, e)
		}
		return
	}
	switch {
	case e.Name == "":
		t.Errorf("%s %q: empty name", kind, line)
	case strings.ContainsRune(e.Name, '\n'):
		t.Errorf("%s %q: name %q holds a newline", kind, line, e.Name)
	case e.Name == "." || e.Name == "..":
		t.Errorf("%s %q: name %q not skipped", kind, line, e.Name)
	case !strings.Contains(line, e.Name):
		t.Errorf("%s %q: name %q is not in the line", kind, line, e.Name)
	case !strings.Contains(line, e.Target):
		t.Errorf("%s %q: target %q is not in the line", kind, line, e.Target)
	case e.Target != "" && e.Type != Link:
		t.Errorf("%s %q: target %q on a %v", kind, line, e.Target, e.Type)
	case e.Size < -1:
		t.Errorf("%s %q: size %d", kind, line, e.Size)
	case e.Type < Other || e.Type > Link:
		t.Errorf("%s %q: type %d", kind, line, int(e.Type))
	case !e.ModTime.IsZero() && e.ModTime.Location() != time.UTC:
		t.Errorf("%s %q: time %v not in UTC", kind, line, e.ModTime)
	}
}

// fuzzName makes s usable as a name a server could list: one line, not
// ending in "\r" (taken for a line ending), not "." or "..".
func fuzzName(s string) string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\n", ""), "\r")
	if s == "" || s == "." || s == ".." {
		s = "x" + s
	}
	return s
}

func FuzzParseListLine(f *testing.F) {
	now := time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC).Unix()
	for _, line := range []string{
		"-rw-r--r--    1 1        1               5 Nov 22 01:26 plain.txt",
		"-rw-r--r--    1 0        0               3 Feb 03  2019 old.txt",
		"lrwxrwxrwx    1 0        0               9 Nov 22 01:26 link -> plain.txt",
		"-rw-r--r--   1 keepftp  nogroup         2 Nov 22 01:26 semi; type=dir; x",
		"crw-rw-rw-   1 root     root       1,   3 Jan  2  2006 null",
		"Dcrw-rw-rw- 1 ftp ftp            0 Jan  2  2006 null",
		"-rw-r--r-- 1 user group 12 2024-01-02 15:04:05.123456789 +0100 full",
		"01-02-06  03:04PM       <DIR>          dirname",
		"01-02-2006  15:04   1234 file.txt",
		"total 12",
		"drwxr-xr-x 2 0 0 4096 Jan  2 15:04 ..",
		"-rw-r--r-- 1 0 0 12 Feb 29 15:04 leap",
		"garbage",
	} {
		f.Add(line, now, "name with spaces", int64(12))
	}
	f.Add("", int64(0), " lead", int64(0))
	f.Add("\n", int64(-1<<62), "a -> b", int64(-1))
	f.Add("-rw-r--r-- 1 0 0 12 Jan  2 15:04 x", int64(1<<62), "\t\x00\xff", int64(1<<62))
	f.Fuzz(func(t *testing.T, line string, nowSec int64, name string, size int64) {
		// Any year from about 1800 to 2200.
		nowSec %= 200 * 365 * 24 * 3600
		nowT := time.Unix(946684800+nowSec, 0).UTC()

		// Arbitrary input: never a panic, and what is accepted is
		// self-consistent and the same every time.
		e, ok, err := ParseListLine(line, nowT)
		checkEntryInvariants(t, "LIST", line, e, ok, err)
		e2, ok2, err2 := ParseListLine(line, nowT)
		if !sameEntry(e, e2) || ok != ok2 || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Errorf("LIST %q: not deterministic", line)
		}

		// Round trip: any name and size, in the formats of vsftpd,
		// proftpd, ftpserverlib and IIS, parse back as they were.
		name = fuzzName(name)
		if size < 0 {
			size = -(size + 1)
		}
		for _, tc := range []struct {
			line string
			want Entry
		}{
			{fmt.Sprintf("-rw-r--r--    1 1000     1000 %15d Feb 03  2019 %s", size, name),
				Entry{Name: name, Type: File, Size: size, ModTime: time.Date(2019, 2, 3, 0, 0, 0, 0, time.UTC)}},
			{fmt.Sprintf("drwxr-xr-x   2 ftp      ftp  %12d Feb  3 04:05 %s", size, name),
				Entry{Name: name, Type: Dir, Size: size}},
			{fmt.Sprintf("Lrwxrwxrwx 1 ftp ftp %12d Dec 31  1999 %s", size, name),
				Entry{Name: name, Type: Link, Size: size, ModTime: time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)}},
			{fmt.Sprintf("02-03-19  04:05PM %20d %s", size, name),
				Entry{Name: name, Type: File, Size: size, ModTime: time.Date(2019, 2, 3, 16, 5, 0, 0, time.UTC)}},
		} {
			if tc.want.Type == Link {
				// "a -> b" is a link a pointing to b; " -> b" is an error.
				if n, target, found := strings.Cut(name, " -> "); found {
					if n == "" {
						if _, _, err := ParseListLine(tc.line, nowT); err == nil {
							t.Errorf("%q: a link without a name accepted", tc.line)
						}
						continue
					}
					tc.want.Name, tc.want.Target = n, target
				}
			}
			got, ok, err := ParseListLine(tc.line, nowT)
			if err != nil || !ok {
				t.Errorf("%q: %v, %v", tc.line, ok, err)
				continue
			}
			if tc.want.ModTime.IsZero() { // "Mon DD HH:MM": the year is inferred
				if got.ModTime.Month() != 2 || got.ModTime.Day() != 3 || got.ModTime.Hour() != 4 || got.ModTime.Minute() != 5 {
					t.Errorf("%q: time %v", tc.line, got.ModTime)
				}
				if limit := nowT.AddDate(0, 6, 0); got.ModTime.After(limit) || got.ModTime.Before(limit.AddDate(-1, 0, 0)) {
					t.Errorf("%q: time %v is not in the year up to %v", tc.line, got.ModTime, limit)
				}
				tc.want.ModTime = got.ModTime
			}
			if !sameEntry(got, tc.want) {
				t.Errorf("%q:\n got %+v\nwant %+v", tc.line, got, tc.want)
			}
		}
	})
}

func FuzzParseMLSDLine(f *testing.F) {
	for _, line := range []string{
		"type=file;size=12;modify=20240101120000; name",
		"Type=FILE;Size=12;Modify=20240101120000.123; Name",
		"modify=20261122012613;perm=flcdmpe;type=cdir;unique=FE00U985FE2; .",
		"modify=20261122012613;perm=adfrw;size=9;type=OS.unix=symlink;unique=FE00U985FE3;UNIX.mode=0777; link",
		"type=OS.unix=slink:/etc;size=4; etc",
		"type=dir;sizd=4096;modify=20261122012614;UNIX.mode=0755; sub",
		" nofacts",
		"type=file;size=2; semi; type=dir; x",
		"type=file;size=-1; neg",
		"nospace",
	} {
		f.Add(line, "name with spaces", int64(12))
	}
	f.Add("", " lead", int64(0))
	f.Add("type=file;;;=; x", "\x00\xff", int64(-5))
	f.Fuzz(func(t *testing.T, line string, name string, size int64) {
		e, ok, err := ParseMLSDLine(line)
		checkEntryInvariants(t, "MLSD", line, e, ok, err)
		if ok {
			if e.Facts == nil {
				t.Errorf("MLSD %q: nil facts", line)
			}
			for k := range e.Facts {
				if k != strings.ToLower(k) || k == "" || strings.ContainsAny(k, "; =") {
					t.Errorf("MLSD %q: fact name %q", line, k)
				}
			}
			if s, has := e.Facts["size"]; has != (e.Size >= 0) || has && strings.TrimLeft(s, "0") != strings.TrimLeft(fmt.Sprint(e.Size), "0") {
				t.Errorf("MLSD %q: size %d from fact %q", line, e.Size, s)
			}
		}
		e2, ok2, err2 := ParseMLSDLine(line)
		if !sameEntry(e, e2) || ok != ok2 || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Errorf("MLSD %q: not deterministic", line)
		}

		// Round trip: any name and size, as proftpd and ftpserverlib send
		// them.
		name = fuzzName(name)
		if size < 0 {
			size = -(size + 1)
		}
		mod := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		for _, l := range []string{
			fmt.Sprintf("modify=20240102030405;perm=adfrw;size=%d;type=file;unique=FE00U985FE5;UNIX.mode=0644; %s", size, name),
			fmt.Sprintf("Type=file;Size=%d;Modify=20240102030405; %s\r\n", size, name),
		} {
			got, ok, err := ParseMLSDLine(l)
			want := Entry{Name: name, Type: File, Size: size, ModTime: mod, Facts: got.Facts}
			if err != nil || !ok || !sameEntry(got, want) {
				t.Errorf("%q: %+v, %v, %v; want %+v", l, got, ok, err, want)
			}
		}
	})
}

// FuzzScanListing: the stream List reads (scanListing, line by line off
// the data connection) gives the entries and bad lines that parsing the
// whole listing at once does, in the same order, through a reader that
// hands over a few bytes at a time.
func FuzzScanListing(f *testing.F) {
	for _, seed := range []string{
		"type=file;size=1; a\r\ntype=file;size=2; b\ntype=cdir; .\ntype=file;size=3; c",
		"total 8\r\n-rw-r--r-- 1 0 0 12 Jan  2  2006 good\r\n<html>\r\n\r\n-rw-r--r-- 1 0 0 1 Jan  2  2006 end",
		"\n\n\r\n",
		"type=dir; d\r\r\n",
	} {
		f.Add([]byte(seed), true, uint8(3))
		f.Add([]byte(seed), false, uint8(1))
	}
	now := time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte, mlsd bool, chunk uint8) {
		if len(data) >= maxListLine {
			return // a line that long is cut by the stream only
		}
		show := func(e Entry, err error) string {
			if err != nil {
				return "bad " + err.Error()
			}
			return fmt.Sprintf("%q %v %d %v %q", e.Name, e.Type, e.Size, e.ModTime, e.Target)
		}
		var streamed []string
		err := scanListing(&trickle{data: data, n: int(chunk%8) + 1}, listParser{cmd: "LIST", mlsd: mlsd, now: now}, func(e Entry, err error) error {
			streamed = append(streamed, show(e, err))
			return nil
		})
		if err != nil {
			t.Fatalf("scanListing: %v", err)
		}
		var whole []string
		p := listParser{cmd: "LIST", mlsd: mlsd, now: now}
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if line == "" {
				continue
			}
			e, ok, err := p.parse(strings.TrimSuffix(line, "\n"))
			if err != nil || ok {
				whole = append(whole, show(e, err))
			}
		}
		if strings.Join(streamed, "\n") != strings.Join(whole, "\n") {
			t.Errorf("streamed:\n%s\nwhole:\n%s", strings.Join(streamed, "\n"), strings.Join(whole, "\n"))
		}
	})
}

// trickle reads data n bytes at a time.
type trickle struct {
	data []byte
	n    int
}

func (r *trickle) Read(b []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := copy(b[:min(len(b), r.n)], r.data)
	r.data = r.data[k:]
	return k, nil
}
