package control_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/proxytest"
	"github.com/keepftp/keepftp/testserver"
	"github.com/keepftp/keepftp/transfer"
)

// ftpName is a server name only the test proxies know (proxytest's
// Hosts): a client that tried to resolve it itself would fail.
const ftpName = "ftp.proxytest.invalid"

func parseProxy(t *testing.T, raw string) *control.Proxy {
	t.Helper()
	p, err := control.ParseProxy(raw)
	if err != nil {
		t.Fatalf("ParseProxy(%q): %v", raw, err)
	}
	return p
}

// download fetches /f.bin over c and checks it against want.
func download(t *testing.T, c *control.Conn, want []byte) {
	t.Helper()
	var out bytes.Buffer
	res, err := transfer.Download(t.Context(), c, "/f.bin", 0, int64(len(want)), &out, transfer.Options{Keepalive: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Download: %v (%+v)", err, res)
	}
	if sha256.Sum256(out.Bytes()) != sha256.Sum256(want) {
		t.Fatalf("downloaded %d bytes whose sha256 differs from the file's (%d bytes)", out.Len(), len(want))
	}
}

// Every connection of a session goes through the proxy, to the server's
// name: the control connection and each data connection (a listing and a
// download), over SOCKS5 (the proxy resolves) and CONNECT, with and
// without a login.
func TestProxyTunnelsEveryConnection(t *testing.T) {
	srv := ftptest.StartServer(t, testserver.Options{})
	payload := ftptest.RandomBytes(1 << 20)
	if err := srv.WriteFile("/f.bin", payload); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(srv.Addr())
	hosts := map[string]string{ftpName: "127.0.0.1"}
	for _, tc := range []struct {
		name       string
		o          proxytest.Options
		user, pass string
	}{
		{"socks5h", proxytest.Options{Kind: proxytest.SOCKS5, Hosts: hosts}, "", ""},
		{"socks5h login", proxytest.Options{Kind: proxytest.SOCKS5, Hosts: hosts, User: "u", Password: "p:w@d"}, "u", "p%3Aw%40d"},
		{"CONNECT", proxytest.Options{Kind: proxytest.CONNECT, Hosts: hosts}, "", ""},
		{"CONNECT login", proxytest.Options{Kind: proxytest.CONNECT, Hosts: hosts, User: "u", Password: "p:w@d"}, "u", "p%3Aw%40d"},
		// The proxy sends its 200 and the server's greeting in one write:
		// a read-ahead would swallow the greeting.
		{"CONNECT greeting with the 200", proxytest.Options{Kind: proxytest.CONNECT, Hosts: hosts, Coalesce: true}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			px := proxytest.Start(t, tc.o)
			var log lockedBuffer // Logf is called from the reader goroutine too
			cfg := control.Config{Timeout: 5 * time.Second, Proxy: parseProxy(t, px.URL(tc.user, tc.pass)),
				Logf: func(f string, a ...any) { log.WriteString(fmt.Sprintf(f, a...) + "\n") }}
			c, err := control.Dial(t.Context(), net.JoinHostPort(ftpName, port), cfg)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			if got := c.RemoteAddr().String(); got != net.JoinHostPort(ftpName, port) {
				t.Errorf("RemoteAddr = %s, want the server's name, not the proxy's address", got)
			}
			if _, err := c.List(t.Context(), "/"); err != nil {
				t.Fatalf("List: %v", err)
			}
			download(t, c, payload)
			tunnels := px.Tunnels()
			if len(tunnels) != 3 {
				t.Fatalf("the proxy opened %d tunnels %v, want 3 (control, listing, download)", len(tunnels), tunnels)
			}
			for i, tu := range tunnels {
				if h, _, _ := net.SplitHostPort(tu.Target); h != ftpName {
					t.Errorf("tunnel %d went to %s, want %s:port", i, tu.Target, ftpName)
				}
			}
			if tunnels[0].Target != net.JoinHostPort(ftpName, port) {
				t.Errorf("the first tunnel went to %s, want the control port", tunnels[0].Target)
			}
			if strings.Contains(log.String(), "p:w@d") || strings.Contains(log.String(), "p%3Aw%40d") {
				t.Errorf("the protocol log shows the proxy password:\n%s", log.String())
			}
			if !strings.Contains(log.String(), "through proxy "+cfg.Proxy.String()) {
				t.Errorf("the protocol log does not name the proxy:\n%s", log.String())
			}
		})
	}
}

// FTPS through a tunnel: TLS runs end to end with the FTP server, and its
// certificate is checked against the server's name, which the proxy
// resolves; neither the proxy's address (127.0.0.1) nor any name but the
// server's is in the certificate.
func TestProxyFTPSVerifiesTheServersName(t *testing.T) {
	serverTLS, roots := certFor(t, ftpName)
	srv := ftptest.StartServer(t, testserver.Options{TLS: serverTLS})
	payload := ftptest.RandomBytes(256 << 10)
	if err := srv.WriteFile("/f.bin", payload); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(srv.Addr())
	for _, kind := range []proxytest.Kind{proxytest.SOCKS5, proxytest.CONNECT} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			px := proxytest.Start(t, proxytest.Options{Kind: kind, Hosts: map[string]string{ftpName: "127.0.0.1", "other.proxytest.invalid": "127.0.0.1"}})
			cfg := control.Config{Timeout: 5 * time.Second, TLSMode: control.TLSExplicit, TLS: &tls.Config{RootCAs: roots},
				Proxy: parseProxy(t, px.URL("", ""))}
			c, err := control.Dial(t.Context(), net.JoinHostPort(ftpName, port), cfg)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			download(t, c, payload)

			// The same server reached under another name: refused, by
			// the name, though the proxy and the server are the same.
			_, err = control.Dial(t.Context(), net.JoinHostPort("other.proxytest.invalid", port), cfg)
			var he x509.HostnameError
			if !errors.As(err, &he) {
				t.Fatalf("Dial under a name the certificate does not cover: %v; want an x509.HostnameError", err)
			}
		})
	}
}

// certFor makes a self-signed certificate for names only (no IP address).
func certFor(t *testing.T, names ...string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}}, roots
}

// A tunnel the proxy does not open is a *ProxyError that says why, and
// whether asking again can help; no text of it shows the password, not
// even where the proxy echoes what it was sent.
func TestProxyRefusals(t *testing.T) {
	srv := ftptest.StartServer(t, testserver.Options{})
	const secret = "S3cretPW"
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	long := []byte("HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 20<<10) + "\r\n\r\n")
	for _, tc := range []struct {
		name      string
		o         proxytest.Options
		url       func(px *proxytest.Proxy) string
		auth      bool
		permanent bool
		says      string
	}{
		{"SOCKS5 login wanted", proxytest.Options{Kind: proxytest.SOCKS5, User: "u", Password: secret}, nil, true, false, "wants a user name and password"},
		{"SOCKS5 wrong password", proxytest.Options{Kind: proxytest.SOCKS5, User: "u", Password: "other"}, login("u", secret), true, false, "refused the user name and password"},
		{"SOCKS5 not allowed by ruleset", proxytest.Options{Kind: proxytest.SOCKS5, SOCKSReply: 2}, login("u", secret), false, true, "connection not allowed by ruleset"},
		{"SOCKS5 connection refused", proxytest.Options{Kind: proxytest.SOCKS5, SOCKSReply: 5}, nil, false, false, "connection refused"},
		{"CONNECT login wanted", proxytest.Options{Kind: proxytest.CONNECT, User: "u", Password: secret}, nil, true, false, "407 Proxy Authentication Required (it wants a user name and password"},
		{"CONNECT wrong password", proxytest.Options{Kind: proxytest.CONNECT, User: "u", Password: "other"}, login("u", secret), true, false, "(it refused the user name and password)"},
		{"CONNECT 403 echoing the login", proxytest.Options{Kind: proxytest.CONNECT, Status: "403 Forbidden \x1b[31mred", Echo: true}, login("u", secret), false, true, `403 Forbidden \x1b[31mred (you sent: Basic ***)`},
		{"CONNECT 502", proxytest.Options{Kind: proxytest.CONNECT, Status: "502 Bad Gateway"}, nil, false, false, "the proxy answered 502 Bad Gateway"},
		{"not HTTP", proxytest.Options{Kind: proxytest.CONNECT, Answer: []byte("SSH-2.0-OpenSSH_9.2\x07\r\n")}, login("u", secret), false, true, `not HTTP: malformed HTTP response "SSH-2.0-OpenSSH_9.2\a"`},
		{"answer too long", proxytest.Options{Kind: proxytest.CONNECT, Answer: long}, nil, false, true, "longer than 16 KiB"},
		{"closed without an answer", proxytest.Options{Kind: proxytest.CONNECT, Answer: []byte{}}, nil, false, false, "closed the connection without answering"},
		{"proxy not listening", proxytest.Options{}, func(*proxytest.Proxy) string { return "socks5://u:" + secret + "@" + closedAddr }, false, false, "cannot reach the proxy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			px := proxytest.Start(t, tc.o)
			raw := px.URL("", "")
			if tc.url != nil {
				raw = tc.url(px)
			}
			var log bytes.Buffer
			cfg := control.Config{Timeout: 5 * time.Second, Proxy: parseProxy(t, raw),
				Logf: func(f string, a ...any) { log.WriteString(fmt.Sprintf(f, a...) + "\n") }}
			c, err := control.Dial(t.Context(), srv.Addr(), cfg)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			var pe *control.ProxyError
			if !errors.As(err, &pe) {
				t.Fatalf("Dial: %v (%T); want a *ProxyError", err, err)
			}
			if pe.Auth != tc.auth || pe.Permanent != tc.permanent {
				t.Errorf("Auth %v, Permanent %v; want %v, %v: %v", pe.Auth, pe.Permanent, tc.auth, tc.permanent, err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			token := "dTpTM2NyZXRQVw==" // base64("u:S3cretPW")
			for _, text := range []string{err.Error(), log.String()} {
				if strings.Contains(text, secret) || strings.Contains(text, token) {
					t.Errorf("the password shows: %q", text)
				}
			}
			if strings.ContainsAny(err.Error(), "\x1b\x07") {
				t.Errorf("control characters from the proxy are not escaped: %q", err)
			}
			if tc.auth && px.Refusals() != 1 {
				t.Errorf("the proxy refused %d logins, want 1", px.Refusals())
			}
			t.Logf("%v", err)
		})
	}
}

func login(user, pass string) func(*proxytest.Proxy) string {
	return func(px *proxytest.Proxy) string { return px.URL(user, pass) }
}

// A proxy that accepts the connection and never answers holds Dial no
// longer than the timeout (ErrPeerDown), and cancelling the context ends
// the wait at once; over SOCKS5 and CONNECT, in virtual time.
func TestProxyDialBounded(t *testing.T) {
	for _, raw := range []string{"socks5h://proxy.invalid:1080", "socks5h://u:p@proxy.invalid:1080", "http://proxy.invalid:3128", "socks5://proxy.invalid:1080"} {
		t.Run(raw, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var dialled []string
				silent := func(ctx context.Context, network, addr string) (net.Conn, error) {
					dialled = append(dialled, addr)
					c, s := net.Pipe()
					go func() { // reads and never answers
						b := make([]byte, 512)
						for {
							if _, err := s.Read(b); err != nil {
								return
							}
						}
					}()
					t.Cleanup(func() { s.Close() })
					return c, nil
				}
				const timeout = 3 * time.Second
				cfg := control.Config{Timeout: timeout, Proxy: parseProxy(t, raw), DialContext: silent}
				start := time.Now()
				_, err := control.Dial(t.Context(), "192.0.2.1:21", cfg)
				if !errors.Is(err, control.ErrPeerDown) {
					t.Fatalf("Dial through a silent proxy: %v; want ErrPeerDown", err)
				}
				if took := time.Since(start); took != timeout {
					t.Errorf("Dial gave up after %v, want the timeout %v", took, timeout)
				}
				var pe *control.ProxyError
				if !errors.As(err, &pe) || pe.Auth || pe.Permanent {
					t.Errorf("error %v: want a transient *ProxyError", err)
				}
				if len(dialled) != 1 || !strings.HasPrefix(dialled[0], "proxy.invalid:") {
					t.Errorf("dialled %v, want the proxy only", dialled)
				}

				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(time.Second, cancel)
				start = time.Now()
				_, err = control.Dial(ctx, "192.0.2.1:21", cfg)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Dial cancelled: %v; want context.Canceled", err)
				}
				if took := time.Since(start); took != time.Second {
					t.Errorf("a cancelled Dial returned after %v, want 1s (at the cancel)", took)
				}
			})
		})
	}
}

// Active mode cannot go through a proxy: Dial refuses before dialling.
func TestProxyActiveRefused(t *testing.T) {
	px := proxytest.Start(t, proxytest.Options{Kind: proxytest.SOCKS5})
	_, err := control.Dial(t.Context(), "127.0.0.1:21", control.Config{Active: true, Proxy: parseProxy(t, px.URL("u", "S3cretPW"))})
	if !errors.Is(err, control.ErrProxyActive) {
		t.Fatalf("Dial with Active and Proxy: %v; want ErrProxyActive", err)
	}
	if strings.Contains(err.Error(), "S3cretPW") {
		t.Errorf("the error shows the password: %v", err)
	}
	if n := len(px.Tunnels()); n != 0 {
		t.Errorf("the proxy opened %d tunnels", n)
	}
}

// lockedBuffer is a bytes.Buffer that several goroutines may write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
