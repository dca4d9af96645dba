package keepftp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// A mirror writes only regular files inside its folder. A local symbolic
// link where the remote tree has a file or a directory is neither followed
// out of the folder nor replaced, and neither is a FIFO: each is left out
// with a warning saying why, and the rest is copied.
func TestMirrorNeverFollowsOrReplacesLocalLinks(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.MLST = true
	a := ftptest.RandomBytes(3000)
	for _, name := range []string{"/m/a", "/m/link", "/m/fifo", "/m/sub/x", "/m/inner/y"} {
		f.WriteFile(name, a, mtime)
	}
	dir, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "target")
	if err := os.WriteFile(target, []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(outside, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	must(t, os.Symlink(target, filepath.Join(dir, "link")))
	must(t, os.Symlink(filepath.Join(outside, "subdir"), filepath.Join(dir, "sub")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	// A link inside the folder to a directory inside it: not followed either.
	must(t, os.Mkdir(filepath.Join(dir, "real"), 0o755))
	must(t, os.Symlink("real", filepath.Join(dir, "inner")))

	c, ev := testClient(t, 2)
	results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/m", dir)
	if err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	checkLocal(t, filepath.Join(dir, "a"), a)
	if b, err := os.ReadFile(target); err != nil || string(b) != "outside" {
		t.Errorf("the link's target outside the folder holds %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(outside, "subdir")); len(ents) != 0 {
		t.Errorf("the mirror wrote %d entries into a directory outside its folder", len(ents))
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "real")); len(ents) != 0 {
		t.Errorf("the mirror wrote through the link inner/ into real/")
	}
	for name, want := range map[string]os.FileMode{"link": os.ModeSymlink, "sub": os.ModeSymlink, "inner": os.ModeSymlink, "fifo": os.ModeNamedPipe} {
		if st, err := os.Lstat(filepath.Join(dir, name)); err != nil || st.Mode().Type() != want {
			t.Errorf("%s: %v, %v; want it left as it was (%v)", name, st.Mode(), err, want)
		}
	}
	lo := leftOutResults(results)
	if len(lo) != 4 || len(ev.kinds(EventWarning)) != 4 {
		t.Errorf("%d left out, %d warnings; want link, sub, inner and fifo: %+v", len(lo), len(ev.kinds(EventWarning)), lo)
	}
	for _, r := range lo {
		if msg := r.Err.Error(); !strings.Contains(msg, "symbolic link") && !strings.Contains(msg, "FIFO") {
			t.Errorf("%s: %q does not say why", r.Local, msg)
		}
	}
	for _, r := range results {
		if r.Err != nil && !errors.Is(r.Err, ErrLeftOut) {
			t.Errorf("%s: %v", r.URL, r.Err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
