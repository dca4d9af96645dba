package control

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listNow is the fixed "now" of the LIST tests: 6 months later is
// 2024-09-15 12:00.
var listNow = time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)

func utc(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, time.UTC)
}

func sameEntry(a, b Entry) bool {
	if a.Name != b.Name || a.Type != b.Type || a.Size != b.Size || a.Target != b.Target || !a.ModTime.Equal(b.ModTime) {
		return false
	}
	if (a.Facts == nil) != (b.Facts == nil) || len(a.Facts) != len(b.Facts) {
		return false
	}
	for k, v := range a.Facts {
		if w, ok := b.Facts[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestParseListLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		line string
		want Entry
	}{
		// vsftpd 3.0 (captured): numeric ids, zero-padded day, "Mon DD  YYYY".
		{"vsftpd file", "-rw-r--r--    1 1        1               5 Nov 22 01:26 plain.txt",
			Entry{Name: "plain.txt", Type: File, Size: 5, ModTime: utc(2023, 11, 22, 1, 26)}},
		{"vsftpd old", "-rw-r--r--    1 0        0               3 Feb 03  2019 old.txt",
			Entry{Name: "old.txt", Type: File, Size: 3, ModTime: utc(2019, 2, 3, 0, 0)}},
		{"vsftpd dir", "drwxr-xr-x    2 1        1            4096 Nov 22 01:26 sub",
			Entry{Name: "sub", Type: Dir, Size: 4096, ModTime: utc(2023, 11, 22, 1, 26)}},
		{"vsftpd symlink", "lrwxrwxrwx    1 0        0               9 Nov 22 01:26 link -> plain.txt",
			Entry{Name: "link", Type: Link, Size: 9, ModTime: utc(2023, 11, 22, 1, 26), Target: "plain.txt"}},
		{"vsftpd fifo", "prw-r--r--    1 0        0               0 Nov 22 01:26 fifo",
			Entry{Name: "fifo", Type: Other, Size: 0, ModTime: utc(2023, 11, 22, 1, 26)}},
		{"vsftpd leading space", "-rw-r--r--    1 1        1               2 Nov 22 01:26  lead",
			Entry{Name: " lead", Type: File, Size: 2, ModTime: utc(2023, 11, 22, 1, 26)}},
		{"vsftpd trailing space", "-rw-r--r--    1 1        1               2 Nov 22 01:26 trail ",
			Entry{Name: "trail ", Type: File, Size: 2, ModTime: utc(2023, 11, 22, 1, 26)}},
		{"vsftpd date-like name", "-rw-r--r--    1 1        1               2 Nov 22 01:26 Jan  2 15:04 fake",
			Entry{Name: "Jan  2 15:04 fake", Type: File, Size: 2, ModTime: utc(2023, 11, 22, 1, 26)}},
		{"arrow in a file name", "-rw-r--r--    1 1        1               2 Nov 22 01:26 a -> b",
			Entry{Name: "a -> b", Type: File, Size: 2, ModTime: utc(2023, 11, 22, 1, 26)}},
		{"CRLF", "-rw-r--r--    1 1        1               5 Nov 22 01:26 plain.txt\r\n",
			Entry{Name: "plain.txt", Type: File, Size: 5, ModTime: utc(2023, 11, 22, 1, 26)}},
		// proftpd 1.3 (captured): names, "Mon  D  YYYY".
		{"proftpd", "-rw-r--r--   1 keepftp  nogroup         2 Nov 22 01:26 semi; type=dir; x",
			Entry{Name: "semi; type=dir; x", Type: File, Size: 2, ModTime: utc(2023, 11, 22, 1, 26)}},
		{"proftpd old", "-rw-r--r--   1 0        0               3 Feb  3  2019 old.txt",
			Entry{Name: "old.txt", Type: File, Size: 3, ModTime: utc(2019, 2, 3, 0, 0)}},
		// pure-ftpd 1.0 (captured).
		{"pure-ftpd dangling link", "lrwxrwxrwx    1 0          0                  12 Nov 22 01:26 dangling -> /nonexistent",
			Entry{Name: "dangling", Type: Link, Size: 12, ModTime: utc(2023, 11, 22, 1, 26), Target: "/nonexistent"}},
		{"pure-ftpd dir", "drwxr-xr-x    2 65534      nogroup          4096 Nov 22 01:26 sub",
			Entry{Name: "sub", Type: Dir, Size: 4096, ModTime: utc(2023, 11, 22, 1, 26)}},
		// pyftpdlib (captured).
		{"pyftpdlib dotdot-prefixed", "-rw-r--r--   1 root     root            2 Nov 22 01:26 ..foo",
			Entry{Name: "..foo", Type: File, Size: 2, ModTime: utc(2023, 11, 22, 1, 26)}},
		{"pyftpdlib name with spaces", "-rw-r--r--   1 root     root            1 Nov 22 01:26 with spaces.txt",
			Entry{Name: "with spaces.txt", Type: File, Size: 1, ModTime: utc(2023, 11, 22, 1, 26)}},
		// ftpserverlib: Go's FileMode.String.
		{"ftpserverlib file", "-rw-r--r-- 1 ftp ftp           13 Jan  2 15:04 hello.txt",
			Entry{Name: "hello.txt", Type: File, Size: 13, ModTime: utc(2024, 1, 2, 15, 4)}},
		{"ftpserverlib symlink", "Lrwxrwxrwx 1 ftp ftp            9 Jan  2 15:04 link",
			Entry{Name: "link", Type: Link, Size: 9, ModTime: utc(2024, 1, 2, 15, 4)}},
		{"ftpserverlib char device", "Dcrw-rw-rw- 1 ftp ftp            0 Jan  2  2006 null",
			Entry{Name: "null", Type: Other, Size: 0, ModTime: utc(2006, 1, 2, 0, 0)}},
		{"ftpserverlib setuid", "urwxr-xr-x 1 ftp ftp 10 Jan  2  2006 su",
			Entry{Name: "su", Type: File, Size: 10, ModTime: utc(2006, 1, 2, 0, 0)}},
		{"ftpserverlib sticky dir", "dtrwxrwxrwx 1 ftp ftp 4096 Jan  2  2006 tmp",
			Entry{Name: "tmp", Type: Dir, Size: 4096, ModTime: utc(2006, 1, 2, 0, 0)}},
		// busybox ftpd, numeric ids; spaces before the year.
		{"busybox", "-rw-r--r--    1 0        0              12 Jan  2  2006 name with spaces",
			Entry{Name: "name with spaces", Type: File, Size: 12, ModTime: utc(2006, 1, 2, 0, 0)}},
		{"numeric ids", "-rw-r--r-- 1 0 0 12 Jan  2  2006 name with spaces",
			Entry{Name: "name with spaces", Type: File, Size: 12, ModTime: utc(2006, 1, 2, 0, 0)}},
		// Variants of the columns.
		{"no group", "-rw-r--r--   1 owner      12 Jan  2  2006 nogroup.txt",
			Entry{Name: "nogroup.txt", Type: File, Size: 12, ModTime: utc(2006, 1, 2, 0, 0)}},
		{"no links", "drwxr-xr-x folder 0 Jan 02 2020 nolinks",
			Entry{Name: "nolinks", Type: Dir, Size: 0, ModTime: utc(2020, 1, 2, 0, 0)}},
		{"owner named like a month", "-rw-r--r-- 1 jan may 12 Jan  2  2006 x",
			Entry{Name: "x", Type: File, Size: 12, ModTime: utc(2006, 1, 2, 0, 0)}},
		{"FileZilla Server", "-rw-r--r-- 1 ftp ftp 1048576 Mar 01 09:30 big.bin",
			Entry{Name: "big.bin", Type: File, Size: 1048576, ModTime: utc(2024, 3, 1, 9, 30)}},
		{"IIS in Unix style", "-rwxrwxrwx   1 owner    group              12 Mar  5 14:59 iis.txt",
			Entry{Name: "iis.txt", Type: File, Size: 12, ModTime: utc(2024, 3, 5, 14, 59)}},
		{"tabs", "-rw-r--r--\t1\tu\tg\t7\tJan\t2\t2006\ttabbed name",
			Entry{Name: "tabbed name", Type: File, Size: 7, ModTime: utc(2006, 1, 2, 0, 0)}},
		{"upper-case month", "-rw-r--r-- 1 u g 7 JAN 2 2006 x",
			Entry{Name: "x", Type: File, Size: 7, ModTime: utc(2006, 1, 2, 0, 0)}},
		{"64-bit size", "-rw-r--r-- 1 u g 9223372036854775807 Jan 2 2006 huge",
			Entry{Name: "huge", Type: File, Size: 9223372036854775807, ModTime: utc(2006, 1, 2, 0, 0)}},
		// Device files: "major, minor" instead of a size.
		{"char device", "crw-rw-rw-   1 root     root       1,   3 Jan  2  2006 null",
			Entry{Name: "null", Type: Other, Size: -1, ModTime: utc(2006, 1, 2, 0, 0)}},
		{"block device", "brw-rw----   1 root     disk       8,0 Jan  2  2006 sda",
			Entry{Name: "sda", Type: Other, Size: -1, ModTime: utc(2006, 1, 2, 0, 0)}},
		{"socket", "srwxrwxrwx   1 root root 0 Jan 2 2006 sock",
			Entry{Name: "sock", Type: Other, Size: 0, ModTime: utc(2006, 1, 2, 0, 0)}},
		// ACL, xattr and SELinux markers.
		{"acl", "drwxr-xr-x+  3 user  staff  96 Jan  2  2006 acl",
			Entry{Name: "acl", Type: Dir, Size: 96, ModTime: utc(2006, 1, 2, 0, 0)}},
		{"xattr", "-rw-r--r--@  1 user  staff  12 Jan  2 15:04 xattr",
			Entry{Name: "xattr", Type: File, Size: 12, ModTime: utc(2024, 1, 2, 15, 4)}},
		{"selinux", "-rw-r--r--.  1 root root 12 Jan  2 15:04 selinux",
			Entry{Name: "selinux", Type: File, Size: 12, ModTime: utc(2024, 1, 2, 15, 4)}},
		{"setuid and sticky bits", "-rwsr-xr-t 1 root root 12 Jan  2  2006 bits",
			Entry{Name: "bits", Type: File, Size: 12, ModTime: utc(2006, 1, 2, 0, 0)}},
		// The 6-month rule, now = 2024-03-15 12:00.
		{"earlier today", "-rw-r--r-- 1 u g 1 Mar 15 11:00 a",
			Entry{Name: "a", Type: File, Size: 1, ModTime: utc(2024, 3, 15, 11, 0)}},
		{"later today", "-rw-r--r-- 1 u g 1 Mar 15 23:00 a",
			Entry{Name: "a", Type: File, Size: 1, ModTime: utc(2024, 3, 15, 23, 0)}},
		{"just under 6 months ahead", "-rw-r--r-- 1 u g 1 Sep 14 10:00 a",
			Entry{Name: "a", Type: File, Size: 1, ModTime: utc(2024, 9, 14, 10, 0)}},
		{"just over 6 months ahead", "-rw-r--r-- 1 u g 1 Sep 16 10:00 a",
			Entry{Name: "a", Type: File, Size: 1, ModTime: utc(2023, 9, 16, 10, 0)}},
		{"last December", "-rw-r--r-- 1 u g 1 Dec 31 23:59 a",
			Entry{Name: "a", Type: File, Size: 1, ModTime: utc(2023, 12, 31, 23, 59)}},
		{"leap day", "-rw-r--r-- 1 u g 1 Feb 29 10:00 a",
			Entry{Name: "a", Type: File, Size: 1, ModTime: utc(2024, 2, 29, 10, 0)}},
		{"one-digit hour", "-rw-r--r-- 1 u g 1 Feb  1 9:05 a",
			Entry{Name: "a", Type: File, Size: 1, ModTime: utc(2024, 2, 1, 9, 5)}},
		// ls --time-style=long-iso and --full-time.
		{"long-iso", "-rw-r--r-- 1 user group 12 2024-01-02 15:04 iso name",
			Entry{Name: "iso name", Type: File, Size: 12, ModTime: utc(2024, 1, 2, 15, 4)}},
		{"full-time", "-rw-r--r-- 1 user group 12 2024-01-02 15:04:05.123456789 +0100 full",
			Entry{Name: "full", Type: File, Size: 12, ModTime: time.Date(2024, 1, 2, 14, 4, 5, 123456789, time.UTC)}},
		// Microsoft IIS, DOS style.
		{"IIS dir", "01-02-06  03:04PM       <DIR>          dirname",
			Entry{Name: "dirname", Type: Dir, Size: -1, ModTime: utc(2006, 1, 2, 15, 4)}},
		{"IIS file", "02-11-19  10:36AM                  689 iisstart.htm",
			Entry{Name: "iisstart.htm", Type: File, Size: 689, ModTime: utc(2019, 2, 11, 10, 36)}},
		{"IIS 4-digit year, 24 h", "01-02-2006  15:04   1234 file.txt",
			Entry{Name: "file.txt", Type: File, Size: 1234, ModTime: utc(2006, 1, 2, 15, 4)}},
		{"IIS midnight, last century", "12-31-99  12:00AM                    0 y2k",
			Entry{Name: "y2k", Type: File, Size: 0, ModTime: utc(1999, 12, 31, 0, 0)}},
		{"IIS noon", "07-04-23  12:30PM                    1 noon",
			Entry{Name: "noon", Type: File, Size: 1, ModTime: utc(2023, 7, 4, 12, 30)}},
		{"IIS file with spaces", "01-02-2006  15:04   1234 name with spaces.txt",
			Entry{Name: "name with spaces.txt", Type: File, Size: 1234, ModTime: utc(2006, 1, 2, 15, 4)}},
		{"IIS file with a leading space", "01-02-06  03:04PM                    5  lead",
			Entry{Name: " lead", Type: File, Size: 5, ModTime: utc(2006, 1, 2, 15, 4)}},
		{"IIS dir with a leading space", "01-02-06  03:04PM       <DIR>           lead",
			Entry{Name: " lead", Type: Dir, Size: -1, ModTime: utc(2006, 1, 2, 15, 4)}},
		{"DOS dir, narrow padding", "01-02-06  03:04 PM  <DIR>  spaced",
			Entry{Name: "spaced", Type: Dir, Size: -1, ModTime: utc(2006, 1, 2, 15, 4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := ParseListLine(tc.line, listNow)
			if err != nil || !ok {
				t.Fatalf("ParseListLine(%q) = %+v, %v, %v", tc.line, got, ok, err)
			}
			if !sameEntry(got, tc.want) {
				t.Errorf("ParseListLine(%q)\n got %+v\nwant %+v", tc.line, got, tc.want)
			}
		})
	}
}

// TestParseListLineYear checks the year inference around the turn of the
// year and for leap days.
func TestParseListLineYear(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		now  time.Time
		date string
		want time.Time
	}{
		{utc(2024, 12, 20, 0, 0), "Jan  5 10:00", utc(2025, 1, 5, 10, 0)},
		{utc(2024, 12, 20, 0, 0), "Jun 19 10:00", utc(2025, 6, 19, 10, 0)},
		{utc(2024, 12, 20, 0, 0), "Jun 21 10:00", utc(2024, 6, 21, 10, 0)},
		{utc(2025, 1, 10, 0, 0), "Feb 29 10:00", utc(2024, 2, 29, 10, 0)},
		{utc(2025, 1, 10, 0, 0), "Dec 31 23:59", utc(2024, 12, 31, 23, 59)},
		{utc(2025, 1, 10, 0, 0), "Jul 10 00:00", utc(2025, 7, 10, 0, 0)},
		{utc(2025, 1, 10, 0, 0), "Jul 10 00:01", utc(2024, 7, 10, 0, 1)},
		// now's wall clock counts, not its instant.
		{time.Date(2024, 12, 31, 23, 0, 0, 0, time.FixedZone("UTC-5", -5*3600)), "Jul  1 00:00", utc(2025, 7, 1, 0, 0)},
	} {
		line := "-rw-r--r-- 1 u g 1 " + tc.date + " f"
		got, ok, err := ParseListLine(line, tc.now)
		if err != nil || !ok || !got.ModTime.Equal(tc.want) {
			t.Errorf("now %v: %q: %v, %v, %v; want %v", tc.now, tc.date, got.ModTime, ok, err, tc.want)
		}
	}
}

func TestParseListLineSkips(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		"",
		"\r\n",
		"   ",
		"total 12",
		"total 0",
		"TOTAL 4",
		"drwxr-xr-x    2 0        0            4096 Jan  2 15:04 .",
		"drwxr-xr-x    2 0        0            4096 Jan  2 15:04 ..",
		"01-02-06  03:04PM       <DIR>          .",
		"01-02-06  03:04PM       <DIR>          ..",
	} {
		e, ok, err := ParseListLine(line, listNow)
		if ok || err != nil || !sameEntry(e, Entry{}) {
			t.Errorf("ParseListLine(%q) = %+v, %v, %v; want a skip", line, e, ok, err)
		}
	}
}

// TestParseListLineErrors: lines in an unknown format, or that make no
// sense, are errors that quote the line.
func TestParseListLineErrors(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		"hello world",
		"550 No such file or directory",
		"ls: cannot access '/x': No such file or directory",
		"type=file;size=1;modify=20240101000000; mlsd.txt",
		"total 12 files",
		"-rw-r--r-- 1 0 0 12 Foo  2 15:04 nodate",
		"-rw-r--r-- 1 0 0 12 Jan 32 15:04 badday",
		"-rw-r--r-- 1 0 0 12 Jan  2 25:04 badhour",
		"-rw-r--r-- 1 0 0 12 Jan  2 15:04",
		"-rw-r--r-- 1 0 0 12 Jan  2 15:04 ",
		"-rw-r--r-- 1 0 0 12 Jan  2  2006",
		"-rw-r--r-- 1 0 0 12 Feb 30  2006 feb30",
		"-rw-r--r-- 1 0 0 -1 Jan  2  2006 negative",
		"-rw-r--r-- 1 0 0 1e3 Jan  2  2006 float",
		"-rw-r--r-- 1 0 0 99999999999999999999 Jan  2  2006 overflow",
		"-rw-r--r-- 12 Jan  2  2006 toofew",
		"lrwxrwxrwx 1 0 0 3 Jan  2  2006  -> target",
		"+rw-r--r-- 1 0 0 12 Jan  2  2006 badtype",
		"-rw-r--r-X 1 0 0 12 Jan  2  2006 badperm",
		"-rw-r--r-- 1 0 0 12 2024-13-02 15:04 badiso",
		"-rw-r--r-- 1 0 0 12 2024-01-02 15:04:05.1 nozone",
		"-rw-r--r-- 1 a b c d e f 12 Jan  2  2006 toomanycolumns",
		"crw-rw-rw- 1 root root 1, x Jan  2  2006 baddev",
		"13-02-06  03:04PM       <DIR>          badmonth",
		"02-30-06  03:04PM       <DIR>          feb30",
		"01-02-06  13:04PM       <DIR>          badhour",
		"01-02-06  03:04PM       <JUNCTION>     junction",
		"01-02-06  03:04PM       <DIR>",
		"01-02-06  03:04PM                 12",
		"01-02-06",
		"two\nlines",
	} {
		e, ok, err := ParseListLine(line, listNow)
		if err == nil || ok {
			t.Errorf("ParseListLine(%q) = %+v, %v, nil; want an error", line, e, ok)
			continue
		}
		if !errors.Is(err, ErrBadListing) {
			t.Errorf("ParseListLine(%q): %v is not ErrBadListing", line, err)
		}
		if !strings.Contains(err.Error(), strconv.Quote(trimEOL(line))) {
			t.Errorf("ParseListLine(%q): error %q does not quote the line", line, err)
		}
	}
}

func TestParseListLineErrorClipsLongLines(t *testing.T) {
	t.Parallel()
	line := "garbage " + strings.Repeat("x", 10000)
	_, _, err := ParseListLine(line, listNow)
	if err == nil || len(err.Error()) > errLineMax+200 || !strings.Contains(err.Error(), "garbage xxx") {
		t.Errorf("error for a 10 kB line: %v", err)
	}
}

func TestParseMLSDLine(t *testing.T) {
	t.Parallel()
	mod := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		line string
		want Entry
	}{
		{"RFC 3659", "type=file;size=12;modify=20240101120000; name",
			Entry{Name: "name", Type: File, Size: 12, ModTime: mod,
				Facts: Facts{"type": "file", "size": "12", "modify": "20240101120000"}}},
		{"ftpserverlib capitals", "Type=FILE;Size=12;Modify=20240101120000; Name",
			Entry{Name: "Name", Type: File, Size: 12, ModTime: mod,
				Facts: Facts{"type": "FILE", "size": "12", "modify": "20240101120000"}}},
		{"fractional seconds", "type=file;size=1;modify=20240101120000.250; f",
			Entry{Name: "f", Type: File, Size: 1, ModTime: mod.Add(250 * time.Millisecond),
				Facts: Facts{"type": "file", "size": "1", "modify": "20240101120000.250"}}},
		{"dir without size", "type=dir;modify=20240101120000; dir",
			Entry{Name: "dir", Type: Dir, Size: -1, ModTime: mod,
				Facts: Facts{"type": "dir", "modify": "20240101120000"}}},
		{"pure-ftpd sizd", "type=dir;sizd=4096;modify=20240101120000;UNIX.mode=0755;UNIX.uid=65534;UNIX.gid=65534;unique=fe00g985acb; sub",
			Entry{Name: "sub", Type: Dir, Size: -1, ModTime: mod,
				Facts: Facts{"type": "dir", "sizd": "4096", "modify": "20240101120000", "unix.mode": "0755", "unix.uid": "65534", "unix.gid": "65534", "unique": "fe00g985acb"}}},
		{"perm and unique (pyftpdlib)", "modify=20240101120000;perm=radfwMT;size=2;type=file;unique=fe00g985ac3; ..foo",
			Entry{Name: "..foo", Type: File, Size: 2, ModTime: mod,
				Facts: Facts{"type": "file", "size": "2", "modify": "20240101120000", "perm": "radfwMT", "unique": "fe00g985ac3"}}},
		{"proftpd symlink", "modify=20240101120000;perm=adfrw;size=9;type=OS.unix=symlink;unique=FE00U985FE3;UNIX.mode=0777; link",
			Entry{Name: "link", Type: Link, Size: 9, ModTime: mod,
				Facts: Facts{"type": "OS.unix=symlink", "size": "9", "modify": "20240101120000", "perm": "adfrw", "unique": "FE00U985FE3", "unix.mode": "0777"}}},
		{"pure-ftpd symlink without target", "type=OS.unix=slink:;size=12; dangling",
			Entry{Name: "dangling", Type: Link, Size: 12,
				Facts: Facts{"type": "OS.unix=slink:", "size": "12"}}},
		{"symlink with target", "type=OS.unix=slink:/etc/passwd;size=11; pw",
			Entry{Name: "pw", Type: Link, Size: 11, Target: "/etc/passwd",
				Facts: Facts{"type": "OS.unix=slink:/etc/passwd", "size": "11"}}},
		{"pure-ftpd fifo", "type=unknown;size=0; fifo",
			Entry{Name: "fifo", Type: Other, Size: 0, Facts: Facts{"type": "unknown", "size": "0"}}},
		{"no type", "size=3; notype",
			Entry{Name: "notype", Type: Other, Size: 3, Facts: Facts{"size": "3"}}},
		{"no facts", " nofacts",
			Entry{Name: "nofacts", Type: Other, Size: -1, Facts: Facts{}}},
		{"leading space in the name", "type=file;size=2;  lead",
			Entry{Name: " lead", Type: File, Size: 2, Facts: Facts{"type": "file", "size": "2"}}},
		{"trailing space in the name", "type=file;size=2; trail ",
			Entry{Name: "trail ", Type: File, Size: 2, Facts: Facts{"type": "file", "size": "2"}}},
		{"facts in the name", "type=file;size=2; semi; type=dir; x",
			Entry{Name: "semi; type=dir; x", Type: File, Size: 2, Facts: Facts{"type": "file", "size": "2"}}},
		{"arrow in the name", "type=file;size=2; a -> b",
			Entry{Name: "a -> b", Type: File, Size: 2, Facts: Facts{"type": "file", "size": "2"}}},
		{"path in the name", "type=file;size=2; ../../etc/passwd",
			Entry{Name: "../../etc/passwd", Type: File, Size: 2, Facts: Facts{"type": "file", "size": "2"}}},
		{"raw bytes", "type=file;size=2; \xff\x00\x1b[31m",
			Entry{Name: "\xff\x00\x1b[31m", Type: File, Size: 2, Facts: Facts{"type": "file", "size": "2"}}},
		{"no trailing semicolon", "type=file;size=2 f",
			Entry{Name: "f", Type: File, Size: 2, Facts: Facts{"type": "file", "size": "2"}}},
		{"CRLF", "type=file;size=2; f\r\n",
			Entry{Name: "f", Type: File, Size: 2, Facts: Facts{"type": "file", "size": "2"}}},
		{"CR in the name", "type=file;size=2; f\r\r\n",
			Entry{Name: "f\r", Type: File, Size: 2, Facts: Facts{"type": "file", "size": "2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := ParseMLSDLine(tc.line)
			if err != nil || !ok {
				t.Fatalf("ParseMLSDLine(%q) = %+v, %v, %v", tc.line, got, ok, err)
			}
			if !sameEntry(got, tc.want) {
				t.Errorf("ParseMLSDLine(%q)\n got %+v\nwant %+v", tc.line, got, tc.want)
			}
			if !got.ModTime.IsZero() && got.ModTime.Location() != time.UTC {
				t.Errorf("ModTime %v not in UTC", got.ModTime)
			}
		})
	}
}

func TestParseMLSDLineSkips(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		"",
		"\r\n",
		"  ",
		"modify=20261122012613;perm=flcdmpe;type=cdir;unique=FE00U985FE2; .",
		"type=pdir;sizd=4096;modify=20261122012614; ..",
		"type=cdir; /full/path/of/the/dir",
		"Type=CDir; x",
		"type=dir; .",
		"type=dir; ..",
	} {
		e, ok, err := ParseMLSDLine(line)
		if ok || err != nil || e.Name != "" {
			t.Errorf("ParseMLSDLine(%q) = %+v, %v, %v; want a skip", line, e, ok, err)
		}
	}
}

func TestParseMLSDLineErrors(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		"nospace",
		"type=file;size=12;",
		"type=file; ",
		"type=file;size=x; f",
		"type=file;size=-1; f",
		"type=file;size=99999999999999999999; f",
		"type=file;modify=2024; f",
		"type=file;modify=20241301000000; f",
		"type=file;junk; f",
		"=x; f",
		"-rw-r--r-- 1 0 0 12 Jan  2  2006 list",
		"type=file; two\nlines",
	} {
		e, ok, err := ParseMLSDLine(line)
		if err == nil || ok {
			t.Errorf("ParseMLSDLine(%q) = %+v, %v, nil; want an error", line, e, ok)
			continue
		}
		if !errors.Is(err, ErrBadListing) || !strings.Contains(err.Error(), strconv.Quote(line)) {
			t.Errorf("ParseMLSDLine(%q): %v: not ErrBadListing quoting the line", line, err)
		}
	}
}

func TestEntryTypeString(t *testing.T) {
	t.Parallel()
	for typ, want := range map[EntryType]string{Other: "other", File: "file", Dir: "dir", Link: "link", 42: "EntryType(42)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(typ), got, want)
		}
	}
	if (Entry{}).Type != Other {
		t.Error("the zero EntryType is not Other")
	}
}

// TestParseListingNamesTheLine: a garbage line in a listing fails the
// whole listing, naming the command, the line number and the line.
func TestParseListingNamesTheLine(t *testing.T) {
	t.Parallel()
	data := []byte("total 8\r\n" +
		"-rw-r--r-- 1 0 0 12 Jan  2  2006 good\r\n" +
		"<html><body>hostile</body></html>\r\n" +
		"-rw-r--r-- 1 0 0 12 Jan  2  2006 never reached\r\n")
	_, err := parseListing("LIST /pub", false, data, listNow)
	if err == nil {
		t.Fatal("garbage accepted")
	}
	for _, want := range []string{"LIST /pub", "line 3", `"<html><body>hostile</body></html>"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if !errors.Is(err, ErrBadListing) {
		t.Errorf("%v is not ErrBadListing", err)
	}

	// The last line needs no line ending; CRLF and LF both end lines.
	es, err := parseListing("MLSD", true, []byte("type=file;size=1; a\r\ntype=file;size=2; b\ntype=cdir; .\ntype=file;size=3; c"), listNow)
	if err != nil || len(es) != 3 || es[0].Name != "a" || es[1].Name != "b" || es[2].Name != "c" || es[2].Size != 3 {
		t.Errorf("parseListing = %+v, %v", es, err)
	}
}
