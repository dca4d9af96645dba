package control_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// ticketLog tags every session ticket the server issues with the number
// of the TLS connection it was issued on (1 is the control connection: the
// client makes no other before it), and records, for every resumption,
// which connection's ticket was used.
type ticketLog struct {
	mu      sync.Mutex
	conns   int
	issued  map[int]int // connection -> tickets issued on it
	resumes []string    // "conn N resumed a ticket of conn M"
	from    []int       // M of each resumption
}

// serverConfig wraps base so that tickets carry their connection's number.
func (l *ticketLog) serverConfig(base *tls.Config) *tls.Config {
	l.issued = map[int]int{}
	// One ticket key for all the per-connection configs below (each would
	// make its own otherwise, and none could read another's tickets).
	var key [32]byte
	rand.Read(key[:])
	base = base.Clone()
	base.SetSessionTicketKeys([][32]byte{key})
	cfg := base.Clone()
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		l.mu.Lock()
		l.conns++
		id := l.conns
		l.mu.Unlock()
		c := base.Clone()
		c.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
			ss.Extra = append(ss.Extra, []byte(fmt.Sprint(id)))
			l.mu.Lock()
			l.issued[id]++
			l.mu.Unlock()
			return c.EncryptTicket(cs, ss)
		}
		c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
			ss, err := c.DecryptTicket(identity, cs)
			if ss == nil || err != nil {
				return ss, err
			}
			var from int
			if len(ss.Extra) > 0 {
				fmt.Sscan(string(ss.Extra[len(ss.Extra)-1]), &from)
			}
			l.mu.Lock()
			l.resumes = append(l.resumes, fmt.Sprintf("conn %d resumed a ticket of conn %d", id, from))
			l.from = append(l.from, from)
			l.mu.Unlock()
			return ss, nil
		}
		return c, nil
	}
	return cfg
}

// The session a control connection holds is the one its data connections
// resume, under TLS 1.2 and 1.3, and a ticket that arrives on a data
// connection (a TLS 1.3 server sends new ones on every connection, resumed
// or not) never replaces it: every data connection of a run of downloads
// and uploads resumes a ticket issued on the control connection.
func TestTLSDataResumesControlSession(t *testing.T) {
	t.Parallel()
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, m := range tlsModes {
			t.Run(tls.VersionName(v)+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				base, roots, err := testserver.SelfSignedTLS()
				if err != nil {
					t.Fatal(err)
				}
				base.MaxVersion = v
				var log ticketLog
				srv := ftptest.StartServer(t, testserver.Options{TLS: log.serverConfig(base), ImplicitTLS: m.implicit})
				payload := ftptest.RandomBytes(200 << 10)
				if err := srv.WriteFile("/f", payload); err != nil {
					t.Fatal(err)
				}
				c := dialTLS(t, srv, m.mode, &tls.Config{RootCAs: roots})
				ctx := t.Context()
				const rounds = 3
				for i := range rounds {
					tr, err := c.StartTransfer(ctx, "RETR", "/f", 0)
					if err != nil {
						t.Fatalf("RETR %d: %v", i, err)
					}
					d := tlsData(t, tr)
					if st := d.ConnectionState(); !st.DidResume || st.Version != v {
						t.Fatalf("RETR %d: data connection %s, resumed %v; want %s, resumed", i, tls.VersionName(st.Version), st.DidResume, tls.VersionName(v))
					}
					d.SetReadDeadline(time.Now().Add(10 * time.Second))
					got, err := io.ReadAll(d)
					if err != nil || !bytes.Equal(got, payload) {
						t.Fatalf("RETR %d: %d bytes, %v", i, len(got), err)
					}
					awaitFinal(t, tr, 226)
					tr.End(ctx, true)

					name := fmt.Sprintf("/up%d", i)
					tr, err = c.StartTransfer(ctx, "STOR", name, 0)
					if err != nil {
						t.Fatalf("STOR %d: %v", i, err)
					}
					d = tlsData(t, tr)
					if st := d.ConnectionState(); !st.DidResume {
						t.Fatalf("STOR %d: data connection did not resume", i)
					}
					d.SetWriteDeadline(time.Now().Add(10 * time.Second))
					if _, err := d.Write(payload); err != nil {
						t.Fatal(err)
					}
					d.Close() // close_notify, then the server's end
					awaitFinal(t, tr, 226)
					tr.End(ctx, true)
					stored, err := afero.ReadFile(srv.Fs(), name)
					if err != nil || !bytes.Equal(stored, payload) {
						t.Fatalf("STOR %d: the server stored %d bytes (%v), want %d", i, len(stored), err, len(payload))
					}
				}
				log.mu.Lock()
				defer log.mu.Unlock()
				if len(log.from) != 2*rounds {
					t.Fatalf("%d resumptions, want %d: %v", len(log.from), 2*rounds, log.resumes)
				}
				for i, from := range log.from {
					if from != 1 {
						t.Errorf("resumption %d: %s, want the control connection's (conn 1)", i, log.resumes[i])
					}
				}
				if v == tls.VersionTLS13 {
					dataTickets := 0
					for conn, n := range log.issued {
						if conn != 1 {
							dataTickets += n
						}
					}
					// The case that matters: data connections did receive tickets.
					if dataTickets == 0 {
						t.Errorf("no ticket was issued on a data connection (issued %v): the test proves nothing", log.issued)
					}
				}
				t.Logf("tickets issued per connection %v; %s", log.issued, strings.Join(log.resumes, "; "))
			})
		}
	}
}

// --tls-max 1.2: a server that offers TLS 1.3 gets 1.2 on the control
// connection and on data connections, which still resume.
func TestTLSMaxVersion(t *testing.T) {
	t.Parallel()
	srv, roots := startTLSServer(t, false)
	if err := srv.WriteFile("/f", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	cfg, err := control.TLSOptions{MaxVersion: tls.VersionTLS12}.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.RootCAs = roots
	c := dialTLS(t, srv, control.TLSExplicit, cfg)
	if st, ok := c.TLSState(); !ok || st.Version != tls.VersionTLS12 {
		t.Fatalf("control connection TLS %v (%x), want TLS 1.2", ok, st.Version)
	}
	tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
	if err != nil {
		t.Fatal(err)
	}
	d := tlsData(t, tr)
	if st := d.ConnectionState(); st.Version != tls.VersionTLS12 || !st.DidResume {
		t.Fatalf("data connection %s, resumed %v", tls.VersionName(st.Version), st.DidResume)
	}
	d.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.ReadAll(d)
	awaitFinal(t, tr, 226)
	tr.End(t.Context(), true)

	// Without the cap the same server gives TLS 1.3.
	c13 := dialTLS(t, srv, control.TLSExplicit, &tls.Config{RootCAs: roots})
	if st, _ := c13.TLSState(); st.Version != tls.VersionTLS13 {
		t.Fatalf("uncapped: %s, want TLS 1.3", tls.VersionName(st.Version))
	}
}

// testCert makes a CA-signed (or, with ca nil, self-signed) certificate.
type testCert struct {
	cert tls.Certificate
	leaf *x509.Certificate
	key  *ecdsa.PrivateKey
}

func makeCert(t *testing.T, ca *testCert, tmpl *x509.Certificate) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(time.Hour)
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.leaf, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf: leaf, key: key}
}

func newCA(t *testing.T) *testCert {
	return makeCert(t, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
}

func serverCert(t *testing.T, ca *testCert, tmpl *x509.Certificate) *testCert {
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	return makeCert(t, ca, tmpl)
}

func startWithCert(t *testing.T, c *testCert, mod func(*tls.Config)) *testserver.Server {
	cfg := &tls.Config{Certificates: []tls.Certificate{c.cert}}
	if mod != nil {
		mod(cfg)
	}
	return ftptest.StartServer(t, testserver.Options{TLS: cfg})
}

func pool(c *testCert) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.leaf)
	return p
}

func writePEM(t *testing.T, typ string, der []byte) string {
	f := filepath.Join(t.TempDir(), strings.ReplaceAll(typ, " ", "_")+".pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// ServerName comes from the URL's host: an IP literal is checked against
// the certificate's IP SANs, a name against its DNS names.
func TestTLSServerNameFromHost(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	ipOnly := startWithCert(t, serverCert(t, ca, &x509.Certificate{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}), nil)
	c, err := control.Dial(t.Context(), ipOnly.Addr(), control.Config{TLSMode: control.TLSExplicit, TLS: &tls.Config{RootCAs: pool(ca)}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("127.0.0.1 against an IP SAN 127.0.0.1: %v", err)
	}
	c.Close()

	dnsOnly := startWithCert(t, serverCert(t, ca, &x509.Certificate{DNSNames: []string{"localhost"}}), nil)
	_, err = control.Dial(t.Context(), dnsOnly.Addr(), control.Config{TLSMode: control.TLSExplicit, TLS: &tls.Config{RootCAs: pool(ca)}, Timeout: 5 * time.Second})
	var ce *control.CertError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "name mismatch") || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("127.0.0.1 against a certificate for localhost only: %v; want a name mismatch", err)
	}
	_, port, _ := net.SplitHostPort(dnsOnly.Addr())
	c, err = control.Dial(t.Context(), net.JoinHostPort("localhost", port), control.Config{TLSMode: control.TLSExplicit, TLS: &tls.Config{RootCAs: pool(ca)}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("localhost against a certificate for localhost: %v", err)
	}
	c.Close()
}

// A refused certificate names the cause and the certificate's SHA-256
// fingerprint: unknown authority, name mismatch, expired, a pin mismatch.
// Pins and client certificates work.
func TestTLSCertificateErrors(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	good := serverCert(t, ca, &x509.Certificate{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	expired := serverCert(t, ca, &x509.Certificate{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	wrongName := serverCert(t, ca, &x509.Certificate{DNSNames: []string{"ftp.example.com"}})
	pin := func(c *testCert) string {
		sum := sha256.Sum256(c.leaf.RawSubjectPublicKeyInfo)
		return base64.StdEncoding.EncodeToString(sum[:])
	}
	caFile := writePEM(t, "CERTIFICATE", ca.leaf.Raw)

	for _, tc := range []struct {
		name   string
		server *testCert
		opts   control.TLSOptions
		cause  string // "" for success
	}{
		{"trusted via CA file", good, control.TLSOptions{CAFile: caFile}, ""},
		{"unknown authority", good, control.TLSOptions{}, "unknown authority"},
		{"expired", expired, control.TLSOptions{CAFile: caFile}, "expired"},
		{"name mismatch", wrongName, control.TLSOptions{CAFile: caFile}, "name mismatch"},
		{"pin matches, insecure", good, control.TLSOptions{Insecure: true, PinSHA256: []string{pin(good)}}, ""},
		{"pin matches, verified", good, control.TLSOptions{CAFile: caFile, PinSHA256: []string{"sha256//" + pin(good)}}, ""},
		{"pin mismatch", good, control.TLSOptions{CAFile: caFile, PinSHA256: []string{pin(expired)}}, "pin mismatch"},
		{"pin mismatch, insecure", good, control.TLSOptions{Insecure: true, PinSHA256: []string{pin(expired)}}, "pin mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startWithCert(t, tc.server, nil)
			cfg, err := tc.opts.Config()
			if err != nil {
				t.Fatal(err)
			}
			c, err := control.Dial(t.Context(), srv.Addr(), control.Config{TLSMode: control.TLSExplicit, TLS: cfg, Timeout: 5 * time.Second})
			if tc.cause == "" {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			var ce *control.CertError
			if !errors.As(err, &ce) {
				t.Fatalf("Dial: %v (%T), want a *control.CertError", err, err)
			}
			fp := control.Fingerprint(tc.server.leaf)
			if !strings.Contains(err.Error(), tc.cause) || !strings.Contains(err.Error(), fp) {
				t.Fatalf("error %q: want the cause %q and the fingerprint %s", err, tc.cause, fp)
			}
			t.Logf("%v", err)
		})
	}

	// A server that requires a client certificate.
	client := makeCert(t, ca, &x509.Certificate{Subject: pkix.Name{CommonName: "keepftp client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature})
	srv := startWithCert(t, good, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = pool(ca)
	})
	keyDER, err := x509.MarshalECPrivateKey(client.key)
	if err != nil {
		t.Fatal(err)
	}
	opts := control.TLSOptions{CAFile: caFile}
	cfg, _ := opts.Config()
	if c, err := control.Dial(t.Context(), srv.Addr(), control.Config{TLSMode: control.TLSExplicit, TLS: cfg, Timeout: 5 * time.Second}); err == nil {
		c.Close()
		t.Fatal("a server requiring a client certificate accepted none")
	}
	opts.CertFile, opts.KeyFile = writePEM(t, "CERTIFICATE", client.leaf.Raw), writePEM(t, "EC PRIVATE KEY", keyDER)
	cfg, err = opts.Config()
	if err != nil {
		t.Fatal(err)
	}
	c, err := control.Dial(t.Context(), srv.Addr(), control.Config{TLSMode: control.TLSExplicit, TLS: cfg, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("with the client certificate: %v", err)
	}
	c.Close()

	// Bad options name what is wrong.
	for _, bad := range []control.TLSOptions{
		{CAFile: filepath.Join(t.TempDir(), "missing.pem")},
		{CertFile: opts.CertFile},
		{PinSHA256: []string{"not base64!"}},
	} {
		if _, err := bad.Config(); err == nil {
			t.Errorf("TLSOptions %+v: no error", bad)
		}
	}
}
