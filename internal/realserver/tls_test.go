package realserver

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
)

// The TLS endpoints require TLS: a plain login is refused, and so is a
// data connection without PROT P; with TLS a transfer works, and the
// server presents the test PKI's certificate.
func TestTLSRequired(t *testing.T) {
	t.Parallel()
	for _, ep := range []struct {
		kind Kind
		mode TLSMode
	}{
		{Vsftpd, ExplicitTLS}, {Vsftpd, ImplicitTLS}, {Proftpd, ExplicitTLS}, {PureFTPd, ExplicitTLS}, {Pyftpdlib, ExplicitTLS},
	} {
		t.Run(string(ep.kind)+"/"+ep.mode.String(), func(t *testing.T) {
			t.Parallel()
			s := Start(t, ep.kind, Options{TLS: ep.mode})
			user, pass := s.Login()
			ctx := t.Context()
			if ep.mode == ExplicitTLS {
				// Plain: the greeting comes, the login does not.
				c := dial(t, s)
				c.send("USER %s", user)
				r, err := c.read()
				if err == nil && r.code == 331 {
					c.send("PASS %s", pass)
					r, err = c.read()
				}
				if err == nil && r.code == 230 {
					t.Fatalf("a plain login succeeded: %v", r)
				}
				t.Logf("plain login: %v %v", r, err)
			} else {
				// Implicit: a plain client gets no greeting.
				nc, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				nc.SetReadDeadline(time.Now().Add(2 * time.Second))
				buf := make([]byte, 3)
				n, _ := nc.Read(buf)
				nc.Close()
				if string(buf[:n]) == "220" {
					t.Fatal("implicit TLS endpoint greeted a plain client")
				}
			}
			mode := control.TLSExplicit
			if ep.mode == ImplicitTLS {
				mode = control.TLSImplicit
			}
			cfg := control.Config{User: user, Password: pass, Timeout: 5 * time.Second, TLSMode: mode, TLS: &tls.Config{RootCAs: s.PKI.Roots}}
			c, err := control.Dial(ctx, s.Addr, cfg)
			if err != nil {
				t.Fatalf("TLS login: %v", err)
			}
			defer c.Close()
			if st, ok := c.TLSState(); !ok || !st.PeerCertificates[0].Equal(s.PKI.Leaf) {
				t.Fatal("the server does not present the test PKI's certificate")
			}
			if err := s.WriteFile("/x", []byte("hello")); err != nil {
				t.Fatal(err)
			}
			// Clear data connections are refused, by the server: PROT C, or
			// the transfer after it, gets a 5xx.
			_, err = c.Cmd(ctx, 2, "PROT", "C")
			if err == nil {
				var tr *control.Transfer
				if tr, err = c.StartTransfer(ctx, "RETR", "/x", 0); err == nil {
					tr.Abort(ctx)
					t.Fatal("RETR over a clear data connection started")
				}
			}
			if !control.IsPermanent(err) {
				t.Fatalf("clear data connection: %v; want the server's 5xx refusal", err)
			}
			t.Logf("clear data connection refused: %v", err)
		})
	}
}
