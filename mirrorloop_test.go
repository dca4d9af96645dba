package keepftp

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// selfTree is a Fake whose every directory lists two subdirectories, a
// and b, and one file: a tree of 2^depth directories that are all the
// same. With vary, each listing's times differ (a counter), so that no
// listing equals another.
func selfTree(t *testing.T, vary bool) *ftptest.Fake {
	f := ftptest.StartFake(t)
	f.MLST = true
	var n atomic.Int64
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch verb {
		case "MLSD":
			stamp := mtime
			if vary {
				stamp = stamp.Add(time.Second * time.Duration(n.Add(1)))
			}
			mod := stamp.Format("20060102150405")
			s.SendData([]byte(fmt.Sprintf("type=dir;modify=%s; a\r\ntype=dir;modify=%s; b\r\ntype=file;size=1;modify=%s; f\r\n", mod, mod, mod)), "")
		case "SIZE":
			s.Reply("213 1")
		case "MDTM":
			s.Reply("213 " + mtime.Format("20060102150405"))
		case "RETR":
			s.SendData([]byte("x"), "")
		default:
			return false
		}
		return true
	}
	return f
}

// TestMirrorSelfTreeEnds: a tree whose every directory lists itself twice
// ends at once: the listings of /t/a and /t/b equal /t's, so they are
// reported as loops and not walked (3 MLSDs), and the file at the top is
// copied.
func TestMirrorSelfTreeEnds(t *testing.T) {
	f := selfTree(t, false)
	c, ev := testClient(t, 2)
	results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/t", t.TempDir())
	if err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	lo := leftOutResults(results)
	if len(lo) != 2 || len(results) != 3 {
		t.Fatalf("results %+v: want the top's file and the two loops left out", results)
	}
	for _, r := range lo {
		if !strings.Contains(r.Err.Error(), "directory loop") || !strings.Contains(r.Err.Error(), "same entries") {
			t.Errorf("%s: %v; want it named a loop, and why", r.URL, r.Err)
		}
	}
	if n := f.Count("MLSD"); n != 3 {
		t.Errorf("%d MLSDs, want 3", n)
	}
	if n := len(ev.kinds(EventWarning)); n != 2 {
		t.Errorf("%d warnings, want 2", n)
	}
}

// TestMirrorDirectoryBound: the same tree with listings that differ (so
// no listing equals an ancestor's) ends at the bound on directories: the
// MLSDs are bounded, the directories past it reported once.
func TestMirrorDirectoryBound(t *testing.T) {
	defer func(n int) { maxDirs = n }(maxDirs)
	maxDirs = 20
	f := selfTree(t, true)
	c, ev := testClient(t, 2)
	results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/t", t.TempDir())
	if err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	var bound []FileResult
	for _, r := range leftOutResults(results) {
		if strings.Contains(r.Err.Error(), "more than 20 directories") {
			bound = append(bound, r)
		}
	}
	if len(bound) != 1 {
		t.Errorf("%d reports of the bound: want 1 (left out: %+v)", len(bound), leftOutResults(results))
	}
	if n := f.Count("MLSD"); n != 21 { // the top and 20 below it
		t.Errorf("%d MLSDs, want 21", n)
	}
	if n := len(ev.kinds(EventWarning)); n != len(leftOutResults(results)) {
		t.Errorf("%d warnings for %d entries left out", n, len(leftOutResults(results)))
	}
}
