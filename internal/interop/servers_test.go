package interop

import (
	"bytes"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/testserver"
)

// server is one FTP server under test, real or embedded, seen the same
// way by every scenario.
type server struct {
	name      string
	addr      string
	user, pw  string
	uploadDir string // where uploads are allowed ("/" or "/upload")
	write     func(path string, data []byte) error
	read      func(path string) ([]byte, error)
}

const embedded = "testserver"

var serverNames = []string{string(realserver.Vsftpd), string(realserver.Proftpd), string(realserver.PureFTPd), string(realserver.Pyftpdlib), embedded}

// startServer starts the named server for one scenario.
func startServer(t *testing.T, name string, ipv6 bool, idle time.Duration) *server {
	t.Helper()
	if name == embedded {
		if ipv6 {
			t.Skip("testserver listens on 127.0.0.1 only")
		}
		srv, err := testserver.Start(testserver.Options{IdleTimeout: idle, EnableHASH: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return &server{
			name: name, addr: srv.Addr(), uploadDir: "/",
			write: srv.WriteFile,
			read: func(p string) ([]byte, error) {
				f, err := srv.Fs().Open(p)
				if err != nil {
					return nil, err
				}
				defer f.Close()
				var b bytes.Buffer
				_, err = b.ReadFrom(f)
				return b.Bytes(), err
			},
		}
	}
	rs := realserver.Start(t, realserver.Kind(name), realserver.Options{IPv6: ipv6, IdleTimeout: idle, Digest: true})
	user, pw := rs.Login()
	return &server{name: name, addr: rs.Addr, user: user, pw: pw, uploadDir: rs.UploadDir, write: rs.WriteFile, read: rs.ReadFile}
}

// url returns an ftp:// URL for path on addr (the server's, or a
// middlebox's in front of it) with the server's login.
func (s *server) url(addr, path string) string {
	u := url.URL{Scheme: "ftp", Host: addr, Path: path}
	if s.user != "" {
		u.User = url.UserPassword(s.user, s.pw)
	}
	return u.String()
}

// middlebox puts a NAT-like middlebox in front of the server.
func (s *server) middlebox(t *testing.T, opts testserver.MiddleboxOptions) *testserver.Middlebox {
	t.Helper()
	opts.Target = s.addr
	if host, _, _ := net.SplitHostPort(s.addr); host == "::1" {
		opts.Listen = "[::1]:0"
	}
	mb, err := testserver.NewMiddlebox(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb
}
