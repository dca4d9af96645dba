package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// A full disk is a local failure: exit 7, no retry loop, the partial file
// stays for a later run, and the message says what happened.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a 1 MiB tmpfs (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/big", ftptest.RandomBytes(4<<20))
	code, out := runCombined(t, "get", "--retry-max-delay", "10ms", "-o", filepath.Join(dir, "big"), "ftp://"+srv.Addr()+"/big")
	if code != ExitLocal {
		t.Fatalf("exit %d, want %d\n%s", code, ExitLocal, out)
	}
	if !strings.Contains(out, "no space left on device") {
		t.Errorf("message does not say the disk is full:\n%s", out)
	}
	if n := srv.Stats().Connections; n != 1 {
		t.Errorf("%d connections: a full disk must not be retried", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "big.part")); err != nil {
		t.Errorf("partial file: %v", err)
	}
}
