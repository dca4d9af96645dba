package testserver

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

func clientTLS(roots *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
}

// authTLS runs AUTH TLS and moves the raw client onto TLS.
func (c *rawClient) authTLS(cfg *tls.Config) {
	c.t.Helper()
	c.cmd(234, "AUTH TLS")
	tc := tls.Client(c.conn, cfg)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	tc.SetDeadline(time.Time{})
	c.conn = tc
	c.tp = textproto.NewConn(tc)
}

func TestSelfSignedTLS(t *testing.T) {
	t.Parallel()
	srvCfg, roots, err := SelfSignedTLS("ftp.test", "10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	leaf := srvCfg.Certificates[0].Leaf
	for _, h := range []string{"127.0.0.1", "::1", "localhost", "ftp.test", "10.1.2.3"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("VerifyHostname(%s): %v", h, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"}); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if d := time.Until(leaf.NotAfter); d > 25*time.Hour || d < 23*time.Hour {
		t.Errorf("certificate valid for another %v, want about a day", d)
	}
}

func TestImplicitTLSNeedsConfig(t *testing.T) {
	t.Parallel()
	if s, err := Start(Options{ImplicitTLS: true}); err == nil {
		s.Close()
		t.Fatal("Start with ImplicitTLS and no TLS config succeeded")
	}
}

// Explicit TLS with a raw client: FEAT offers AUTH TLS, after AUTH TLS the
// shim pipes the encrypted session, and a PROT P data connection is TLS.
// Faults do not apply to the TLS session, and are left for plain ones.
func TestExplicitTLS(t *testing.T) {
	t.Parallel()
	srvCfg, roots, err := SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	const cut = 1000
	s := startServer(t, Options{TLS: srvCfg, Faults: Faults{CutAfter: []int64{cut}}})
	content := randomBytes(200 * 1024)
	mustWrite(t, s, "f.bin", content)

	c := dialRaw(t, s.Addr())
	feat := c.cmd(211, "FEAT")
	for _, f := range []string{"AUTH TLS", "PBSZ", "PROT"} {
		if !strings.Contains(feat, f) {
			t.Errorf("FEAT %q does not list %s", feat, f)
		}
	}
	c.authTLS(clientTLS(roots))
	c.login()
	c.cmd(200, "PBSZ 0")
	c.cmd(200, "PROT P")
	c.cmd(200, "NOOP")
	for range 2 {
		d := tls.Client(c.epsv(), clientTLS(roots))
		c.cmd(150, "RETR f.bin")
		got, err := readAll(d)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("TLS download: %d bytes (equal %v), err %v", len(got), bytes.Equal(got, content), err)
		}
		if !d.ConnectionState().HandshakeComplete {
			t.Fatal("data connection not TLS")
		}
		c.expect(226)
	}
	c.cmd(221, "QUIT")

	st := s.Stats()
	if st.TLSSessions != 1 {
		t.Errorf("TLSSessions = %d, want 1", st.TLSSessions)
	}
	if st.Noops != 0 || st.Downloads != 0 || st.BytesSent != 0 {
		t.Errorf("the shim counted inside a TLS session: %+v", st)
	}

	// The cut was not used up by the TLS session: a plain one gets it.
	p := dialRaw(t, s.Addr())
	p.login()
	d := p.epsv()
	p.cmd(150, "RETR f.bin")
	got, _ := readAll(d)
	if len(got) > cut {
		t.Fatalf("plain download after the TLS one got %d bytes, want the cut at %d", len(got), cut)
	}
	p.expect(426)
}

// A refused AUTH leaves the session line-parsed by the shim.
func TestAUTHRefusedKeepsShim(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})
	c := dialRaw(t, s.Addr())
	code, msg := c.sendRead("AUTH TLS")
	if code == 234 || code < 400 {
		t.Fatalf("AUTH TLS on a server without TLS: %d %s", code, msg)
	}
	c.login()
	c.cmd(200, "NOOP")
	if st := s.Stats(); st.Noops != 1 || st.TLSSessions != 0 {
		t.Fatalf("stats after a refused AUTH: %+v", st)
	}
}

func (c *rawClient) sendRead(cmd string) (int, string) {
	c.t.Helper()
	c.send("%s", cmd)
	return c.read()
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	srvCfg, roots, err := SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Options{TLS: srvCfg, ImplicitTLS: true, Noop: NoopImmediate500})
	content := randomBytes(100 * 1024)
	mustWrite(t, s, "f.bin", content)

	// A plain client gets no FTP greeting.
	pc, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	b := make([]byte, 3)
	if n, _ := pc.Read(b); n > 0 {
		t.Errorf("implicit TLS server sent %q to a plain client before its handshake", b[:n])
	}
	pc.Close()

	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.Addr(), clientTLS(roots))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn, tp: textproto.NewConn(conn)}
	c.expect(220)
	c.login()
	// No PROT P: implicit TLS protects every data connection.
	d := tls.Client(c.epsv(), clientTLS(roots))
	c.cmd(150, "RETR f.bin")
	got, err := readAll(d)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("TLS download: %d bytes, err %v", len(got), err)
	}
	c.expect(226)
	if st := s.Stats(); st.TLSSessions != 2 { // the plain probe counts too
		t.Errorf("TLSSessions = %d, want 2", st.TLSSessions)
	}
}
