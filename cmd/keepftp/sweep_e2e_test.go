package main

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// What a sweep of hostile servers found, run as a user would.

// keepftp mirror of a tree in which each directory lists two
// subdirectories that are itself (2^depth directories) ends, exits 9 and
// says why, after 3 MLSDs.
func TestMirrorSelfTreeEndsExit9(t *testing.T) {
	f := ftptest.StartFake(t)
	f.MLST = true
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "MLSD" {
			return false
		}
		s.SendData([]byte("type=dir;modify=20240301120000; a\r\ntype=dir;modify=20240301120000; b\r\n"), "")
		return true
	}
	code, stdout, stderr := runKeepftp(t, nil, "mirror", "--timeout", "5s", "ftp://"+f.Addr()+"/t", t.TempDir())
	if code != ExitPartial {
		t.Errorf("exit %d, want %d\n%s%s", code, ExitPartial, stdout, stderr)
	}
	if n := strings.Count(stderr, "lists the same entries"); n != 2 {
		t.Errorf("stderr names the loop %d times, want 2 (a and b):\n%s", n, stderr)
	}
	if n := f.Count("MLSD"); n != 3 {
		t.Errorf("%d MLSDs, want 3", n)
	}
	t.Logf("stderr:\n%s", stderr)
}

// keepftp ls of a listing with one bad line prints the good lines, warns
// about the bad one with its control characters escaped, and exits 9 as
// a mirror that left entries out does (it exited 8 and printed nothing).
func TestLsBadLinePrintsTheRest(t *testing.T) {
	f := ftptest.StartFake(t)
	f.MLST = true
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "MLSD" {
			return false
		}
		s.SendData([]byte("type=file;size=1;modify=20240301120000; b\r\n"+
			"garbage \x1b[31mred\r\n"+
			"type=file;size=2;modify=20240301120000; a\r\n"), "")
		return true
	}
	code, stdout, stderr := runKeepftp(t, nil, "ls", "ftp://"+f.Addr()+"/d")
	if code != ExitPartial {
		t.Errorf("exit %d, want %d", code, ExitPartial)
	}
	if stdout != "a\nb\n" {
		t.Errorf("stdout %q, want the two good names, sorted", stdout)
	}
	if strings.Count(stderr, "warning") != 1 || !strings.Contains(stderr, `garbage \x1b[31mred`) || strings.Contains(stderr, "\x1b") {
		t.Errorf("stderr %q: want one warning naming the line, escaped", stderr)
	}
}

// keepftp ls of a listing longer than it sorts prints it as it arrives,
// in the server's order; a short one is sorted.
func TestLsLongListingStreams(t *testing.T) {
	f := ftptest.StartFake(t)
	var entries atomic.Int64 // set by the test, read by the server: another process in between is no happens-before edge
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "LIST" {
			return false
		}
		var b strings.Builder
		for i := entries.Load(); i > 0; i-- { // in reverse order
			fmt.Fprintf(&b, "-rw-r--r-- 1 ftp ftp 1 Mar  1  2024 f%06d\r\n", i)
		}
		s.SendData([]byte(b.String()), "")
		return true
	}
	addr := f.Addr()
	for _, n := range []int{3, lsSortMax + 1} {
		entries.Store(int64(n))
		code, stdout, stderr := runKeepftp(t, nil, "ls", "ftp://"+addr+"/d")
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if code != 0 || len(lines) != n {
			t.Fatalf("%d entries: exit %d, %d lines\n%s", n, code, len(lines), stderr)
		}
		first, last := lines[0], lines[n-1]
		if n == 3 && (first != "f000001" || last != "f000003") || n > 3 && (first != fmt.Sprintf("f%06d", n) || last != "f000001") {
			t.Errorf("%d entries: from %s to %s: want sorted for 3, the server's order beyond %d", n, first, last, lsSortMax)
		}
	}
}
