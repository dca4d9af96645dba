package interop

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
)

// Active mode (EPRT, or PORT): the server connects to keepftp for data.
// Straight to the server: the middlebox forwards passive data flows only.

// activeOpts turns active mode on and records which announcement the
// server took: "EPRT", or "PORT" after EPRT was refused.
func activeOpts(s *server) (resume.Options, func() string) {
	o := s.opts()
	o.Active = true
	var mu sync.Mutex
	took := ""
	o.ProtoLog = func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasPrefix(line, "> EPRT |2|"):
			took = "EPRT"
			if !strings.HasPrefix(line, "> EPRT |2|::1|") {
				took = "EPRT to a foreign address: " + line
			}
		case strings.HasPrefix(line, "> EPRT "):
			took = "EPRT"
		case strings.HasPrefix(line, "> PORT "):
			took = "PORT"
		case strings.HasPrefix(line, "> EPSV"), strings.HasPrefix(line, "> PASV"):
			took = "passive!"
		}
	}
	return o, func() string { mu.Lock(); defer mu.Unlock(); return took }
}

func scActiveGet(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	data := ftptest.RandomBytes(s.size(8<<20, 2<<20))
	s.write("/active.bin", data)
	dst := filepath.Join(t.TempDir(), "active.bin")
	o, took := activeOpts(s)
	out, err := resume.Get(t.Context(), target(t, s.url(s.addr, "/active.bin")), dst, o)
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, readLocal(t, dst), data)
	if out.Attempts != 1 {
		t.Errorf("%d attempts, want 1", out.Attempts)
	}
	if took() != "EPRT" && took() != "PORT" {
		t.Errorf("the last data connection was announced by %q, want EPRT or PORT", took())
	}
	return out.Received, took() + ", " + out.Verified
}

func scActivePut(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	data := ftptest.RandomBytes(s.size(8<<20, 2<<20))
	src := filepath.Join(t.TempDir(), "active.bin")
	os.WriteFile(src, data, 0o644)
	remote := path.Join(s.uploadDir, "active.bin")
	o, took := activeOpts(s)
	out, err := resume.Put(t.Context(), src, target(t, s.url(s.addr, remote)), o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.read(remote)
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, got, data)
	if out.Attempts != 1 {
		t.Errorf("%d attempts, want 1", out.Attempts)
	}
	if took() != "EPRT" && took() != "PORT" {
		t.Errorf("the last data connection was announced by %q, want EPRT or PORT", took())
	}
	return int64(len(got)), took() + ", " + out.Verified
}

// scActiveIPv6Get: over IPv6 only EPRT can carry our address (|2|::1|).
func scActiveIPv6Get(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, true, 0)
	data := ftptest.RandomBytes(4 << 20)
	s.write("/active6.bin", data)
	dst := filepath.Join(t.TempDir(), "active6.bin")
	o, took := activeOpts(s)
	out, err := resume.Get(t.Context(), target(t, s.url(s.addr, "/active6.bin")), dst, o)
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, readLocal(t, dst), data)
	if took() != "EPRT" {
		t.Errorf("announced by %q, want EPRT", took())
	}
	return out.Received, took()
}
