package keepftp

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	results := c.GetAll(t.Context(), []Job{{URL: url + "a", Dst: fifo}, {URL: url + "b", Dst: link}, {URL: url + "c"}}, here)
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

// A move (RemoveSource) into a FIFO keeps the remote file: the copy went
// into a stream, not to a file that can be synced and checked, and the
// check looks without opening the FIFO (which would wait for a writer).
// Through a link to a regular file, the target is the copy: it is checked
// and synced, and the remote file removed.
func TestRemoveSourceIntoNonRegularDestinations(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	data := ftptest.RandomBytes(100 << 10)
	f.WriteFile("/fifo.bin", data, mtime)
	f.WriteFile("/link.bin", data, mtime)
	c, ev := moveClient(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o644))
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
	if _, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/fifo.bin", fifo); err != nil {
		t.Fatalf("Get into the FIFO: %v", err)
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("the FIFO's reader got %d bytes, want %d", len(b), len(data))
	}
	if _, ok := f.File("/fifo.bin"); !ok {
		t.Error("the remote file was removed after a copy into a FIFO")
	}
	if w := ev.kinds(EventWarning); len(w) != 1 || !strings.Contains(w[0].Reason, "a FIFO, not to a file") {
		t.Errorf("warnings %+v, want one saying the copy went to a FIFO", w)
	}

	target := filepath.Join(t.TempDir(), "target")
	link := filepath.Join(dir, "link")
	must(t, os.Symlink(target, link))
	if _, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/link.bin", link); err != nil {
		t.Fatalf("Get through the link: %v", err)
	}
	checkLocal(t, target, data)
	if _, ok := f.File("/link.bin"); ok || len(ev.kinds(EventRemoved)) != 1 {
		t.Errorf("the remote file behind the link's copy was not removed")
	}
}
