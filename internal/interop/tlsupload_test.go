package interop

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/transfer"
)

// TestTLSUploadOneAttempt: a 48 MiB FTPS upload lands in one attempt, with
// no retry, and the server holds the same bytes (sha256), on every TLS
// endpoint: vsftpd explicit and implicit with require_ssl_reuse=YES,
// proftpd's mod_tls (session reuse required too), pure-ftpd -Y 3 and
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

// Many transfers on one control connection of the servers that require
// session reuse (vsftpd, proftpd), under TLS 1.2 and 1.3: every data
// connection resumes a session and the servers accept it. These servers
// also accept a resumption of a ticket issued on an earlier data
// connection, so which ticket was resumed is checked where the server can
// tag its tickets: control's TestTLSDataResumesControlSession.
func TestTLSManyTransfersOneConnection(t *testing.T) {
	for _, name := range []string{"vsftpd+tls", "vsftpd+ftps", "proftpd+tls"} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(name+"/"+tls.VersionName(v), func(t *testing.T) {
				t.Parallel()
				s := startServer(t, name, false, 0)
				payload := ftptest.RandomBytes(256 << 10)
				s.write("/f.bin", payload)
				cfg := s.controlConfig()
				cfg.TLS.MaxVersion = v
				var mu sync.Mutex
				var notResumed []string
				cfg.Logf = func(format string, args ...any) {
					if line := fmt.Sprintf(format, args...); strings.Contains(line, "without resuming") {
						mu.Lock()
						notResumed = append(notResumed, line)
						mu.Unlock()
					}
				}
				c, err := control.Dial(t.Context(), s.addr, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Quit(t.Context())
				if st, _ := c.TLSState(); st.Version != v {
					t.Fatalf("control connection %s, want %s", tls.VersionName(st.Version), tls.VersionName(v))
				}
				o := transfer.Options{Timeout: 5 * time.Second}
				for i := range 4 {
					var got bytes.Buffer
					if _, err := transfer.Download(t.Context(), c, "/f.bin", 0, int64(len(payload)), &got, o); err != nil {
						t.Fatalf("download %d: %v", i, err)
					}
					checkSHA(t, got.Bytes(), payload)
					remote := path.Join(s.uploadDir, fmt.Sprintf("up%d.bin", i))
					if _, err := transfer.Upload(t.Context(), c, remote, 0, bytes.NewReader(payload), int64(len(payload)), o); err != nil {
						t.Fatalf("upload %d: %v", i, err)
					}
					stored, err := s.read(remote)
					if err != nil {
						t.Fatal(err)
					}
					checkSHA(t, stored, payload)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(notResumed) > 0 {
					t.Errorf("data connections that did not resume: %q", notResumed)
				}
			})
		}
	}
}
