package control_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
	"github.com/keepftp/keepftp/transfer"
)

// FTPS over real TCP against the embedded server: explicit (AUTH TLS) and
// implicit TLS, certificate verification, and transfers over protected
// data connections.

var tlsModes = []struct {
	name     string
	mode     control.TLSMode
	implicit bool
}{
	{"explicit", control.TLSExplicit, false},
	{"implicit", control.TLSImplicit, true},
}

// startTLSServer starts a testserver with a fresh self-signed certificate
// and returns the pool that trusts it.
func startTLSServer(t *testing.T, implicit bool) (*testserver.Server, *x509.CertPool) {
	t.Helper()
	serverTLS, roots, err := testserver.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	srv := ftptest.StartServer(t, testserver.Options{TLS: serverTLS, ImplicitTLS: implicit})
	return srv, roots
}

func dialTLS(t *testing.T, srv *testserver.Server, mode control.TLSMode, cfg *tls.Config) *control.Conn {
	t.Helper()
	c, err := control.Dial(t.Context(), srv.Addr(), control.Config{TLSMode: mode, TLS: cfg, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type tlsConn interface {
	net.Conn
	ConnectionState() tls.ConnectionState
}

// tlsData asserts that a transfer's data connection is TLS and returns it.
func tlsData(t *testing.T, tr *control.Transfer) tlsConn {
	t.Helper()
	tc, ok := tr.Data.(tlsConn)
	if !ok {
		t.Fatalf("t.Data is %T, want a TLS connection", tr.Data)
	}
	st := tc.ConnectionState()
	if !st.HandshakeComplete || st.Version < tls.VersionTLS12 {
		t.Fatalf("data TLS state: handshake complete %v, version %x", st.HandshakeComplete, st.Version)
	}
	t.Logf("data connection: %s, resumed %v", tls.VersionName(st.Version), st.DidResume)
	return tc
}

func awaitFinal(t *testing.T, tr *control.Transfer, want int) {
	t.Helper()
	select {
	case rep := <-tr.Final():
		if rep.Code != want {
			t.Fatalf("final reply %d %s, want %d", rep.Code, rep.Msg, want)
		}
	case <-tr.Lost():
		t.Fatalf("control connection lost: %v", tr.Conn().Err())
	case <-time.After(10 * time.Second):
		t.Fatal("no final reply")
	}
}

func TestTLSDownloadAndUpload(t *testing.T) {
	t.Parallel()
	for _, m := range tlsModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			srv, roots := startTLSServer(t, m.implicit)
			payload := ftptest.RandomBytes(1 << 20)
			if err := srv.WriteFile("/f.bin", payload); err != nil {
				t.Fatal(err)
			}
			c := dialTLS(t, srv, m.mode, &tls.Config{RootCAs: roots})
			ctx := t.Context()
			if st := srv.Stats(); st.TLSSessions != 1 {
				t.Errorf("server saw %d TLS sessions, want 1", st.TLSSessions)
			}
			if f := c.Features(); !strings.Contains(strings.ToUpper(f["AUTH"]), "TLS") || !f.Has("PBSZ") || !f.Has("PROT") {
				t.Errorf("FEAT %v: want AUTH TLS, PBSZ and PROT", f)
			}

			size, err := c.Size(ctx, "/f.bin")
			if err != nil || size != int64(len(payload)) {
				t.Fatalf("Size = %d, %v; want %d", size, err, len(payload))
			}

			// RETR with a NOOP written mid-transfer.
			tr, err := c.StartTransfer(ctx, "RETR", "/f.bin", 0)
			if err != nil {
				t.Fatalf("StartTransfer RETR: %v", err)
			}
			data := tlsData(t, tr)
			data.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := make([]byte, 0, len(payload))
			buf := make([]byte, 64<<10)
			noopSent := false
			for {
				n, err := data.Read(buf)
				got = append(got, buf[:n]...)
				if !noopSent && len(got) > 0 {
					if err := tr.Noop(); err != nil {
						t.Fatalf("Noop: %v", err)
					}
					noopSent = true
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("reading data after %d bytes: %v", len(got), err)
				}
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("downloaded %d bytes that differ from the %d of the file", len(got), len(payload))
			}
			awaitFinal(t, tr, 226)
			stale, err := tr.End(ctx, true)
			if err != nil {
				t.Fatalf("End: %v", err)
			}
			answered := len(stale)
		drain:
			for {
				select {
				case <-tr.NoopAnswers():
					answered++
				default:
					break drain
				}
			}
			if tr.NoopsSent() != 1 || answered != 1 {
				t.Errorf("NOOPs sent %d, answers seen (during the transfer or discarded by the resync) %d; want 1 and 1 (stale: %v)",
					tr.NoopsSent(), answered, stale)
			}
			// The connection is in step after the resync.
			if size, err := c.Size(ctx, "/f.bin"); err != nil || size != int64(len(payload)) {
				t.Fatalf("Size after the transfer = %d, %v", size, err)
			}

			// STOR.
			up := ftptest.RandomBytes(300 << 10)
			tr, err = c.StartTransfer(ctx, "STOR", "/up.bin", 0)
			if err != nil {
				t.Fatalf("StartTransfer STOR: %v", err)
			}
			data = tlsData(t, tr)
			data.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := data.Write(up); err != nil {
				t.Fatalf("writing data: %v", err)
			}
			if err := data.Close(); err != nil {
				t.Fatalf("closing the data connection: %v", err)
			}
			awaitFinal(t, tr, 226)
			if _, err := tr.End(ctx, true); err != nil {
				t.Fatalf("End: %v", err)
			}
			stored, err := afero.ReadFile(srv.Fs(), "/up.bin")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(stored, up) {
				t.Fatalf("the server stored %d bytes that differ from the %d sent", len(stored), len(up))
			}

			// transfer.Download with keepalive NOOPs over TLS.
			var out bytes.Buffer
			res, err := transfer.Download(ctx, c, "/f.bin", 0, int64(len(payload)), &out, transfer.Options{Keepalive: 50 * time.Millisecond})
			if err != nil {
				t.Fatalf("transfer.Download: %v (%+v)", err, res)
			}
			if !bytes.Equal(out.Bytes(), payload) || res.Bytes != int64(len(payload)) || !res.GotFinal || res.Final.Code != 226 {
				t.Fatalf("transfer.Download: %d bytes (equal %v), result %+v", out.Len(), bytes.Equal(out.Bytes(), payload), res)
			}
			t.Logf("transfer.Download sent %d NOOPs", res.NoopsSent)

			if err := c.Quit(ctx); err != nil {
				t.Errorf("Quit: %v", err)
			}
		})
	}
}

// A keepalive download long enough for several NOOPs: their answers come
// back encrypted, after the 226, and the resync must swallow them.
func TestTLSDownloadKeepalive(t *testing.T) {
	t.Parallel()
	srv, roots := startTLSServer(t, false)
	payload := ftptest.RandomBytes(16 << 20)
	if err := srv.WriteFile("/big", payload); err != nil {
		t.Fatal(err)
	}
	c := dialTLS(t, srv, control.TLSExplicit, &tls.Config{RootCAs: roots})
	ctx := t.Context()
	// Slow the reader so that the transfer outlasts several keepalive
	// intervals whatever the machine's speed.
	w := &slowWriter{w: new(bytes.Buffer), every: 1 << 20, pause: 20 * time.Millisecond}
	res, err := transfer.Download(ctx, c, "/big", 0, int64(len(payload)), w, transfer.Options{Keepalive: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("transfer.Download: %v (%+v)", err, res)
	}
	if !bytes.Equal(w.w.Bytes(), payload) {
		t.Fatalf("downloaded %d bytes that differ from the file", w.w.Len())
	}
	if res.NoopsSent == 0 {
		t.Errorf("no NOOP sent during a %d-byte slowed download", len(payload))
	}
	if _, err := c.Size(ctx, "/big"); err != nil {
		t.Fatalf("Size after the download: %v", err)
	}
}

type slowWriter struct {
	w     *bytes.Buffer
	every int
	pause time.Duration
	n     int
}

func (s *slowWriter) Write(p []byte) (int, error) {
	before := s.n / s.every
	s.n += len(p)
	if s.n/s.every != before {
		time.Sleep(s.pause)
	}
	return s.w.Write(p)
}

func TestTLSCertificateVerification(t *testing.T) {
	t.Parallel()
	for _, m := range tlsModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			srv, roots := startTLSServer(t, m.implicit)
			ctx := t.Context()
			dial := func(cfg *tls.Config) (*control.Conn, error) {
				return control.Dial(ctx, srv.Addr(), control.Config{TLSMode: m.mode, TLS: cfg, Timeout: 5 * time.Second})
			}

			// System roots do not know the self-signed certificate; nil
			// TLS config means the same.
			for _, cfg := range []*tls.Config{nil, {}} {
				c, err := dial(cfg)
				if err == nil {
					c.Close()
					t.Fatalf("Dial with system roots (config %v) succeeded against a self-signed certificate", cfg)
				}
				var cve *tls.CertificateVerificationError
				var uae x509.UnknownAuthorityError
				if !errors.As(err, &cve) && !errors.As(err, &uae) {
					t.Fatalf("Dial error %v (%T): want a certificate verification error", err, err)
				}
				t.Logf("untrusted: %v", err)
			}

			// The right root but the wrong name.
			c, err := dial(&tls.Config{RootCAs: roots, ServerName: "ftp.example.com"})
			if err == nil {
				c.Close()
				t.Fatal("Dial with a name the certificate does not cover succeeded")
			}
			var he x509.HostnameError
			if !errors.As(err, &he) {
				t.Fatalf("Dial error %v: want an x509.HostnameError", err)
			}

			// InsecureSkipVerify: the user said not to verify.
			c, err = dial(&tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatalf("Dial with InsecureSkipVerify: %v", err)
			}
			defer c.Close()
			if _, err := c.Cmd(ctx, 2, "NOOP", ""); err != nil {
				t.Fatalf("NOOP: %v", err)
			}
			// The data connections are verified with the same config.
			if err := srv.WriteFile("/x", []byte("hello")); err != nil {
				t.Fatal(err)
			}
			tr, err := c.StartTransfer(ctx, "RETR", "/x", 0)
			if err != nil {
				t.Fatalf("RETR: %v", err)
			}
			data := tlsData(t, tr)
			data.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(data)
			if err != nil || string(got) != "hello" {
				t.Fatalf("read %q, %v", got, err)
			}
			awaitFinal(t, tr, 226)
			if _, err := tr.End(ctx, true); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A plain client against a server that offers TLS still works, and an
// explicit-TLS client against a server without TLS is refused at AUTH.
func TestTLSOptional(t *testing.T) {
	t.Parallel()
	srv, _ := startTLSServer(t, false)
	ctx := t.Context()
	c, err := control.Dial(ctx, srv.Addr(), control.Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("plain Dial to a TLS-capable server: %v", err)
	}
	defer c.Close()
	if _, err := c.Cmd(ctx, 2, "NOOP", ""); err != nil {
		t.Fatal(err)
	}

	plain := ftptest.StartServer(t, testserver.Options{})
	c2, err := control.Dial(ctx, plain.Addr(), control.Config{TLSMode: control.TLSExplicit, Timeout: 5 * time.Second})
	if err == nil {
		c2.Close()
		t.Fatal("explicit TLS against a server without TLS succeeded")
	}
	var re *control.ReplyError
	if !errors.As(err, &re) {
		t.Fatalf("Dial error %v (%T): want the refusal of AUTH TLS as a *control.ReplyError", err, err)
	}
	t.Logf("refused: %v", err)
}
