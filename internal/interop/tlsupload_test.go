package interop

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
)

// TestTLSUploadOneAttempt: a 48 MiB FTPS upload lands in one attempt, with
// no retry, and the server holds the same bytes (sha256), on every TLS
// endpoint: vsftpd explicit and implicit with require_ssl_reuse=YES,
// proftpd's mod_tls (session reuse required too), pure-ftpd -Y 2 and
// pyftpdlib's TLS_FTPHandler. Servers judge a TLS upload by its end: a
// close without close_notify, or a reset caused by unread TLS 1.3 session
// tickets, truncates the file (vsftpd 426, pyftpdlib a silent short file).
func TestTLSUploadOneAttempt(t *testing.T) {
	data := ftptest.RandomBytes(48 << 20)
	src := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range tlsNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			o := s.opts()
			var mu sync.Mutex
			var retries []string
			o.Events = func(e resume.Event) {
				if e.Kind == resume.EventRetry {
					mu.Lock()
					retries = append(retries, e.Reason)
					mu.Unlock()
				}
			}
			remote := path.Join(s.uploadDir, "big.bin")
			out, err := resume.Put(t.Context(), src, target(t, s.url(s.addr, remote)), o)
			if err != nil {
				t.Fatalf("%v (%+v)", err, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if out.Attempts != 1 || len(retries) > 0 {
				t.Errorf("%d attempts, retries %q; want one attempt", out.Attempts, retries)
			}
			got, err := s.read(remote)
			if err != nil {
				t.Fatal(err)
			}
			checkSHA(t, got, data)
			t.Logf("%s: %d bytes in %d attempt(s), verified %s", name, len(got), out.Attempts, out.Verified)
		})
	}
}

// A data connection that does not resume the control connection's session
// (here: session tickets turned off in keepftp's TLS config) is refused by
// the servers that require reuse (vsftpd closes it after the handshake and
// sends no final reply; proftpd the same); the error says so instead of
// only "no final reply".
func TestTLSRefusedReuseExplained(t *testing.T) {
	for _, name := range []string{"vsftpd+tls", "proftpd+tls"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			s.write("/f.bin", ftptest.RandomBytes(64<<10))
			o := s.opts()
			o.TLS.SessionTicketsDisabled = true
			o.Timeout = 2 * time.Second
			o.Policy = resume.Policy{Retries: 0, MaxAttempts: 1}
			_, err := resume.Get(t.Context(), target(t, s.url(s.addr, "/f.bin")), filepath.Join(t.TempDir(), "f.bin"), o)
			if err == nil {
				t.Fatal("the server accepted a data connection that did not resume the control session")
			}
			for _, want := range []string{"did not resume the control connection's TLS session", "session tickets are disabled"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			t.Logf("%v", err)
		})
	}
}
