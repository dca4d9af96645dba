package interop

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/resume"
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
	tls       realserver.TLSMode
	pki       *realserver.PKI // trusted by the client under TLS
	logs      func() string   // the server's output and log files; nil for the embedded one
	// commands are the commands the server received, from its own log
	// (realserver.Options.LogCommands; the embedded one's command log).
	commands func() ([]string, error)
	// stat and chmod reach the served tree's entries as the server's
	// disk holds them (chmod does nothing on the embedded in-memory one).
	stat  func(path string) (os.FileInfo, error)
	chmod func(path string, mode os.FileMode) error
}

const embedded = "testserver"

var serverNames = []string{string(realserver.Vsftpd), string(realserver.Proftpd), string(realserver.PureFTPd), string(realserver.Pyftpdlib), embedded}

// tlsNames are the FTPS endpoints: the real servers requiring TLS on
// control and data connections ("+tls": explicit, AUTH TLS; "+ftps":
// implicit), vsftpd and proftpd requiring session reuse.
var tlsNames = []string{"vsftpd+tls", "vsftpd+ftps", "proftpd+tls", "pure-ftpd+tls", "pyftpdlib+tls"}

// endpoint splits an endpoint name into the server and its TLS mode.
func endpoint(name string) (kind string, mode realserver.TLSMode) {
	kind, suffix, _ := strings.Cut(name, "+")
	switch suffix {
	case "tls":
		mode = realserver.ExplicitTLS
	case "ftps":
		mode = realserver.ImplicitTLS
	}
	return kind, mode
}

// startServer starts the named server for one scenario.
func startServer(t *testing.T, name string, ipv6 bool, idle time.Duration) *server {
	t.Helper()
	return startServerWith(t, name, realserver.Options{IPv6: ipv6, IdleTimeout: idle})
}

// startServerWith starts the named server with o (its TLS mode is the
// name's; Digest is always on).
func startServerWith(t *testing.T, name string, o realserver.Options) *server {
	t.Helper()
	kind, mode := endpoint(name)
	ipv6, idle := o.IPv6, o.IdleTimeout
	if name == embedded {
		if ipv6 {
			skipCell(t, "listens on 127.0.0.1 only")
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
			commands: func() ([]string, error) { return srv.Commands(), nil },
			stat:     srv.Fs().Stat,
			chmod:    func(string, os.FileMode) error { return nil },
		}
	}
	o.Digest, o.TLS = true, mode
	rs := realserver.Start(t, realserver.Kind(kind), o)
	user, pw := rs.Login()
	local := func(p string) string { return filepath.Join(rs.Root, filepath.FromSlash(p)) }
	return &server{name: name, addr: rs.Addr, user: user, pw: pw, uploadDir: rs.UploadDir, write: rs.WriteFile, read: rs.ReadFile, tls: mode, pki: rs.PKI, logs: rs.Logs,
		commands: rs.Commands,
		stat:     func(p string) (os.FileInfo, error) { return os.Stat(local(p)) },
		chmod:    func(p string, mode os.FileMode) error { return os.Chmod(local(p), mode) },
	}
}

// url returns a URL for path on addr (the server's, or a middlebox's in
// front of it) with the server's login: ftp://, ftpes:// (explicit TLS)
// or ftps:// (implicit TLS).
func (s *server) url(addr, path string) string {
	scheme := [...]string{"ftp", "ftpes", "ftps"}[s.tls]
	u := url.URL{Scheme: scheme, Host: addr, Path: path}
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

// tlsConfig is the client's TLS config for the server: its test CA
// trusted, nothing else; nil for plain FTP.
func (s *server) tlsConfig() *tls.Config {
	if s.tls == realserver.NoTLS {
		return nil
	}
	return &tls.Config{RootCAs: s.pki.Roots}
}

// controlConfig is a control.Config that logs in to the server.
func (s *server) controlConfig() control.Config {
	mode := map[realserver.TLSMode]control.TLSMode{
		realserver.NoTLS: control.TLSNone, realserver.ExplicitTLS: control.TLSExplicit, realserver.ImplicitTLS: control.TLSImplicit,
	}[s.tls]
	return control.Config{User: s.user, Password: s.pw, Timeout: 5 * time.Second, TLSMode: mode, TLS: s.tlsConfig()}
}

// opts are the resume options of the scenarios, with the server's TLS
// trust.
func (s *server) opts() resume.Options {
	o := opts()
	o.TLS = s.tlsConfig()
	return o
}

// clientOpts are the scenarios' keepftp.Options: those of opts, as a
// program gives them, the server's CA as a file.
func (s *server) clientOpts() keepftp.Options {
	o := keepftp.Options{Timeout: 5 * time.Second, Retry: quickRetries}
	if s.tls != realserver.NoTLS {
		o.TLS.CAFile = s.pki.CAFile
	}
	return o
}

// size is a test file's size: smaller under TLS, to keep the matrix lean
// (the crypto is paid under the race detector too).
func (s *server) size(plain, overTLS int) int {
	if s.tls != realserver.NoTLS {
		return overTLS
	}
	return plain
}

// randCut is where a data connection is cut in the resume scenarios.
func (s *server) randCut() int64 {
	if s.tls != realserver.NoTLS {
		return randCut(512<<10, 2<<20)
	}
	return randCut(1<<20, 3<<20)
}

// netPath is the way between keepftp and the server in a scenario: the
// NAT-like middlebox for the control connection and, on plain FTP, for
// the data connections too. Under TLS the middlebox cannot read the
// control connection (it forwards it as bytes, from the first byte for
// implicit TLS, after the 234 for AUTH TLS), so data connections go
// straight to the server through a dialer that counts and cuts them.
type netPath struct {
	s  *server
	mb *testserver.Middlebox
	df *ftptest.DataFaults // under TLS
}

// path starts the middlebox; its DataCutAfter move to the dialer under
// TLS.
func (s *server) path(t *testing.T, o testserver.MiddleboxOptions) *netPath {
	t.Helper()
	p := &netPath{s: s}
	if s.tls != realserver.NoTLS {
		p.df = &ftptest.DataFaults{CutAfter: o.DataCutAfter}
		o.DataCutAfter = nil
		o.ImplicitTLS = s.tls == realserver.ImplicitTLS
	}
	p.mb = s.middlebox(t, o)
	if p.df != nil {
		p.df.Control = p.mb.Addr()
	}
	return p
}

// addr is where keepftp connects.
func (p *netPath) addr() string { return p.mb.Addr() }

// opts are the scenario's resume options over this path.
func (p *netPath) opts() resume.Options {
	o := p.s.opts()
	if p.df != nil {
		o.DialContext = p.df.DialContext
	}
	return o
}

// clientOpts are the scenario's keepftp.Options over this path.
func (p *netPath) clientOpts() keepftp.Options {
	o := p.s.clientOpts()
	if p.df != nil {
		o.DialContext = p.df.DialContext
	}
	return o
}

// dataBytes is the data that crossed: at the middlebox, or at the dialer
// under TLS (TLS records, handshakes included).
func (p *netPath) dataBytes() int64 {
	if p.df != nil {
		return p.df.Bytes()
	}
	return p.mb.Stats().DataBytes
}

// checkOnce asserts that a file of size bytes crossed exactly once: to the
// byte on plain FTP; under TLS at least size and less than size plus the
// TLS overhead (records, handshakes: well under 1% and 64 KiB).
func (p *netPath) checkOnce(t *testing.T, size int) {
	t.Helper()
	n := p.dataBytes()
	if p.df == nil {
		if n != int64(size) {
			t.Errorf("%d bytes crossed the middlebox, want the file once (%d)", n, size)
		}
		return
	}
	if n < int64(size) || n > int64(size)+int64(size)/100+64<<10 {
		t.Errorf("%d bytes of TLS crossed the data connections, want the file once (%d plus TLS overhead)", n, size)
	}
}

// loseFinalReply makes the control flow lose the final reply of the next
// download: on plain FTP the middlebox drops the first final reply after a
// data connection's end; under TLS, where it cannot see replies, the
// control flow is blackholed once 1 MiB of data was read: the 150 has
// passed, and the 226 cannot have, as long as the file is larger than
// that plus what the socket buffers hold.
func (p *netPath) loseFinalReply() {
	if p.df == nil {
		p.mb.BlackholeAfterDataEOF(1)
		return
	}
	p.df.TriggerAfter = 1 << 20
	p.df.Trigger = p.mb.BlackholeControl
}
