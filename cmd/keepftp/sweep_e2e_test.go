package main

import (
	"fmt"
	"strings"
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

var _ = fmt.Sprint
