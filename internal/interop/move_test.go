package interop

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/internal/ftptest"
)

// scMoveFilter: a filtered mirror that moves (Options.Filter,
// Options.RemoveSource), plain and over TLS: it copies only what the
// filter takes, checks each copy, removes the remote files it copied (DELE)
// and nothing else; then an upload that moves removes the local file once
// the server holds it whole. The note says how the upload was checked.
func scMoveFilter(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	top := path.Join(s.uploadDir, "move")
	files := map[string][]byte{}
	for i, rel := range []string{"a.csv", "b.txt", "tmp/c.csv", "sub/d.csv", "sub/e.log"} {
		files[rel] = ftptest.RandomBytes(2000 + 1000*i)
		if err := s.write(path.Join(top, rel), files[rel]); err != nil {
			t.Fatal(err)
		}
	}
	filter, err := keepftp.NewFilter(keepftp.FilterOptions{Rules: []keepftp.FilterRule{
		{Exclude: true, Pattern: "tmp/"}, {Pattern: "*.csv"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	o := s.clientOpts()
	o.Parallel, o.Filter, o.RemoveSource, o.NoProfile = 2, filter, true, true
	cl := keepftp.NewClient(o)
	defer cl.Close()
	dir := t.TempDir()
	results, err := cl.Mirror(t.Context(), s.url(s.addr, top), dir)
	if err != nil {
		t.Fatal(err)
	}
	var moved []string
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.URL, r.Err)
		}
		if r.Removed {
			rel, _ := filepath.Rel(dir, r.Local)
			moved = append(moved, filepath.ToSlash(rel))
		}
	}
	slices.Sort(moved)
	if want := []string{"a.csv", "sub/d.csv"}; !slices.Equal(moved, want) {
		t.Errorf("moved %q, want %q", moved, want)
	}
	for rel, data := range files {
		_, rerr := s.read(path.Join(top, rel))
		local, lerr := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if slices.Contains(moved, rel) {
			if rerr == nil {
				t.Errorf("%s is still on the server", rel)
			}
			if lerr != nil || !bytes.Equal(local, data) {
				t.Errorf("%s: the local copy is not whole (%v)", rel, lerr)
			}
			continue
		}
		if rerr != nil {
			t.Errorf("%s, left out by the filter, is gone from the server: %v", rel, rerr)
		}
		if lerr == nil {
			t.Errorf("%s, left out by the filter, was copied", rel)
		}
	}

	src := filepath.Join(t.TempDir(), "up.bin")
	up := ftptest.RandomBytes(s.size(300_000, 100_000))
	os.WriteFile(src, up, 0o644)
	dst := path.Join(top, "up.bin")
	out, err := cl.Put(t.Context(), src, s.url(s.addr, dst))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.read(dst); err != nil || !bytes.Equal(got, up) {
		t.Errorf("the upload is not whole on the server: %v", err)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the local source of a verified upload (checked by %s) is still there: %v", out.Verified, err)
	}
	n := int64(len(up))
	for _, rel := range moved {
		n += int64(len(files[rel]))
	}
	return n, "upload checked by " + out.Verified
}
