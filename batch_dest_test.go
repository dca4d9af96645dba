package keepftp

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// A batch (get -i) whose destinations are a FIFO, a link to a regular
// file elsewhere and a regular file: the FIFO's reader gets its file, in
// place; the link's target is written through, its partial staged beside
// the target and gone at the end; the link stays a link; nothing is left
// in any staging directory.
func TestGetAllIntoNonRegularDestinations(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	files := map[string][]byte{}
	for _, name := range []string{"a", "b", "c"} {
		files[name] = ftptest.RandomBytes(200<<10 + len(name))
		f.WriteFile("/"+name, files[name], mtime)
	}
	here, there := t.TempDir(), t.TempDir()
	fifo := filepath.Join(here, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o644))
	target := filepath.Join(there, "target")
	must(t, os.WriteFile(target, []byte("old"), 0o644))
	link := filepath.Join(here, "link")
	must(t, os.Symlink(target, link))
	got := make(chan []byte, 1)
	go func() {
		r, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		defer r.Close()
		b, _ := io.ReadAll(r)
		got <- b
	}()
	c, _ := testClient(t, 3)
	url := "ftp://" + f.Addr() + "/"
	results := c.GetAll(t.Context(), []Job{{URL: url + "a", Dst: fifo}, {URL: url + "b", Dst: link}, {URL: url + "c"}}, here, 3)
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s -> %s: %v", r.URL, r.Local, r.Err)
		}
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode().Type() != os.ModeNamedPipe {
		t.Fatalf("the FIFO was replaced: %v", err)
	}
	if b := <-got; !bytes.Equal(b, files["a"]) {
		t.Errorf("the FIFO's reader got %d bytes, want %d", len(b), len(files["a"]))
	}
	checkLocal(t, target, files["b"])
	checkLocal(t, filepath.Join(here, "c"), files["c"])
	if to, err := os.Readlink(link); err != nil || to != target {
		t.Errorf("the link leads to %q, %v; want %s", to, err, target)
	}
	for _, d := range []string{here, there} {
		if _, err := os.Stat(filepath.Join(d, StagingDir)); !os.IsNotExist(err) {
			t.Errorf("a staging directory is left in %s: %v", d, err)
		}
	}
	if ents, _ := os.ReadDir(there); len(ents) != 1 {
		t.Errorf("%d entries beside the target, want it alone", len(ents))
	}
}
