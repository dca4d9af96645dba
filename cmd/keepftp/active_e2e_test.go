package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// TestActiveFlag: get, put and ls with --active move data over connections
// the server opens to us (EPRT in the protocol log, no EPSV or PASV).
func TestActiveFlag(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	data := ftptest.RandomBytes(2 << 20)
	srv.WriteFile("/d/f.bin", data)
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		code, stdout, log := runKeepftp(t, nil, args...)
		if code != ExitOK {
			t.Fatalf("keepftp %v: exit %d\n%s", args, code, log)
		}
		if !strings.Contains(log, "> EPRT |1|127.0.0.1|") || strings.Contains(log, "> EPSV") || strings.Contains(log, "> PASV") {
			t.Errorf("keepftp %v: not active mode; log:\n%s", args, log)
		}
		return stdout
	}
	got := filepath.Join(dir, "f.bin")
	run("get", "--active", "-v", "-o", got, "ftp://"+srv.Addr()+"/d/f.bin")
	if b, _ := os.ReadFile(got); !bytes.Equal(b, data) {
		t.Fatalf("get --active: %d bytes, want %d", len(b), len(data))
	}
	run("put", "--active", "-v", got, "ftp://"+srv.Addr()+"/d/up.bin")
	if b, err := srv.Fs().Open("/d/up.bin"); err != nil {
		t.Fatalf("put --active: %v", err)
	} else {
		var up bytes.Buffer
		up.ReadFrom(b)
		b.Close()
		if !bytes.Equal(up.Bytes(), data) {
			t.Fatalf("put --active: the server has %d bytes, want %d", up.Len(), len(data))
		}
	}
	if out := run("ls", "--active", "-v", "ftp://"+srv.Addr()+"/d/"); out != "f.bin\nup.bin\n" {
		t.Errorf("ls --active: %q", out)
	}
}
