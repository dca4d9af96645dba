package main

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
	"golang.org/x/sys/unix"
)

// keepftp get -o NAME, NAME not a regular file, as a user runs it: the
// data is written into it, in place, exit 0, and it stays what it was.
// -o /dev/stdout is the process's standard output (a pipe here), like -o
// -; a FIFO's reader gets the file; a character device with /dev/null's
// numbers (made with mknod in a temporary folder, root only) is still that
// device, with nothing beside it.
func TestGetIntoNonRegularDestinationsE2E(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true})
	payload := ftptest.RandomBytes(300 << 10)
	srv.WriteFile("/f.bin", payload)
	url := "ftp://" + srv.Addr() + "/f.bin"

	code, stdout, stderr := runKeepftp(t, nil, "get", "-o", "/dev/stdout", url)
	if code != 0 || sha256.Sum256([]byte(stdout)) != sha256.Sum256(payload) {
		t.Errorf("-o /dev/stdout: exit %d, %d bytes on stdout (want %d)\n%s", code, len(stdout), len(payload), stderr)
	}

	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
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
	code, _, stderr = runKeepftp(t, nil, "get", "-o", fifo, url)
	if st, err := os.Lstat(fifo); code != 0 || err != nil || st.Mode().Type() != os.ModeNamedPipe {
		t.Fatalf("-o FIFO: exit %d, and it is %v (%v)\n%s", code, st.Mode(), err, stderr)
	}
	if b := <-got; !bytes.Equal(b, payload) {
		t.Errorf("the FIFO's reader got %d bytes, want %d", len(b), len(payload))
	}

	if os.Geteuid() != 0 {
		t.Skip("mknod of a character device needs root; CI runs this as root")
	}
	null := filepath.Join(dir, "null")
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod: %v (no CAP_MKNOD here)", err)
	}
	code, _, stderr = runKeepftp(t, nil, "get", "-o", null, url)
	var st unix.Stat_t
	if code != 0 || unix.Lstat(null, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("-o %s: exit %d, mode %o rdev %x: want exit 0 and the device 1:3 still\n%s", null, code, st.Mode, st.Rdev, stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("%d entries in the folder, want the FIFO and the device alone", len(ents))
	}
}
