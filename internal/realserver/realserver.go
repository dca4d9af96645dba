// Package realserver runs real FTP servers (vsftpd, proftpd, pure-ftpd,
// pyftpdlib) on loopback for tests: each on free high ports, with a
// temporary served tree and a test user, stopped when the test ends.
//
// The servers are installed by .ci/install-servers (as root): pure-ftpd and
// pyftpdlib through apt, vsftpd and proftpd unpacked under
// /opt/keepftp-servers (or $KEEPFTP_SERVERS_DIR), because the Debian
// packages conflict with one another. When a server is missing, Start skips
// the test, or fails it when CI=true. vsftpd, proftpd and pure-ftpd need
// root; without it Start skips (fails under CI=true) as well.
//
// With Options.TLS each server requires FTPS on the control connection and
// on every data connection (vsftpd explicit or implicit with
// require_ssl_reuse, proftpd's mod_tls, pure-ftpd -Y 3, pyftpdlib's
// TLS_FTPHandler), presenting a certificate of a CA made in the test
// (TestPKI). One file per server holds its configuration.
//
// StartProxy runs the proxies keepftp tunnels through in the same way:
// dante-server (SOCKS5) and tinyproxy (HTTP CONNECT, allowed to any port),
// with or without a login, with an idle timer (proxy.go).
//
// How the servers behave (NOOP during a transfer, the end of a transfer,
// timeouts) is recorded in docs/servers.md; the tests here check it.
package realserver

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Kind names a server implementation.
type Kind string

// The servers Start can run.
const (
	Vsftpd    Kind = "vsftpd"
	Proftpd   Kind = "proftpd"
	PureFTPd  Kind = "pure-ftpd"
	Pyftpdlib Kind = "pyftpdlib"
)

// Kinds lists every server Start can run.
var Kinds = []Kind{Vsftpd, Proftpd, PureFTPd, Pyftpdlib}

// ErrNoIPv6 is reported (as a skip) when Options.IPv6 is asked for but the
// server or the machine cannot listen on ::1.
var ErrNoIPv6 = errors.New("realserver: IPv6 loopback (::1) not available")

// ErrNotInstalled is wrapped by Check when a server's binaries are missing.
var ErrNotInstalled = errors.New("realserver: server not installed")

// ErrNeedsRoot is wrapped by Check when a server must be started as root.
var ErrNeedsRoot = errors.New("realserver: server needs root")

// InstallHint names the step that installs the servers.
const InstallHint = "sudo .ci/install-servers"

// Options tune a server.
type Options struct {
	// IPv6 makes the server listen on ::1 instead of 127.0.0.1.
	IPv6 bool
	// IdleTimeout is the control connection's idle timeout where the
	// server lets it be set (vsftpd idle_session_timeout, proftpd
	// TimeoutIdle, pure-ftpd -I rounded up to whole minutes, pyftpdlib
	// FTPHandler.timeout); 0 keeps the server's default. Rounded up to
	// whole seconds.
	IdleTimeout time.Duration
	// Digest loads proftpd's mod_digest (HASH, XMD5, XSHA1, XSHA256,
	// XCRC...). Ignored by the other servers.
	Digest bool
	// MaxPerIP, if positive, is the most control connections the server
	// accepts at once from one client address (pure-ftpd -C, vsftpd
	// max_per_ip, proftpd MaxClientsPerHost); the next one is refused.
	// pyftpdlib's limit is a class attribute (max_cons_per_ip) set the
	// same way.
	MaxPerIP int
	// TLS makes the server require FTPS on the control connection and on
	// every data connection, with a certificate of the test PKI
	// (Server.PKI). ImplicitTLS is vsftpd's only (implicit_ssl); the
	// servers that demand session reuse on data connections (vsftpd's
	// require_ssl_reuse, proftpd's default) keep demanding it.
	TLS TLSMode
	// LogCommands makes the server log every command it receives, for
	// Server.Commands: vsftpd's log_ftp_protocol (always on), proftpd's
	// ExtendedLog, pure-ftpd -d (through its syslog, which needs a mount
	// namespace), pyftpdlib -D.
	LogCommands bool
}

// Server is a running FTP server.
type Server struct {
	Kind Kind
	// Addr is host:port of the control connection: 127.0.0.1:P or [::1]:P.
	Addr string
	// User and Password log in; User is "" for anonymous (vsftpd): then
	// log in with AnonymousUser and AnonymousPassword (see Login).
	User, Password string
	// Root is the local directory served as the remote "/" (put fixtures
	// there with WriteFile).
	Root string
	// UploadDir is the remote directory where uploads are allowed:
	// "/upload" for vsftpd (its anonymous root must not be writable),
	// "/" for the others.
	UploadDir string
	// PassivePorts is the inclusive range of passive data ports.
	PassivePorts [2]int
	// Pid is the server's (listener's) process id.
	Pid int
	// PKI is the test PKI whose certificate the server presents, when
	// Options.TLS is set: trust PKI.Roots (or PKI.CAFile).
	PKI *PKI

	opts    Options
	base    string // temp dir holding Root and the config, logs
	uid     int    // owner of uploadable files (the session's user)
	gid     int
	cmd     *exec.Cmd
	out     *syncBuffer
	syslog  *syslogSink   // pure-ftpd's log (syslog.go)
	done    chan struct{} // closed when the process has exited
	waitErr error

	closeOnce sync.Once
}

// Anonymous login credentials used when Server.User is "".
const (
	AnonymousUser     = "anonymous"
	AnonymousPassword = "keepftp@example.com"
)

// Login returns the user name and password to send: the test user, or
// anonymous ones.
func (s *Server) Login() (user, password string) {
	if s.User == "" {
		return AnonymousUser, AnonymousPassword
	}
	return s.User, s.Password
}

const (
	testUser     = "keepftp"
	testPassword = "keepftp-secret"
	passiveCount = 16 // ports in each passive range
	readyTimeout = 10 * time.Second
	startTries   = 3
)

// ServersDir is where .ci/install-servers unpacks vsftpd and proftpd.
func ServersDir() string {
	if d := os.Getenv("KEEPFTP_SERVERS_DIR"); d != "" {
		return d
	}
	return "/opt/keepftp-servers"
}

// binaries holds the programs a kind needs.
type binaries struct {
	server  string // vsftpd, proftpd, pure-ftpd, python3
	modules string // proftpd's ModulePath
	purePw  string
	openssl string
}

func findFirst(cands ...string) string {
	for _, c := range cands {
		if c == "" {
			continue
		}
		if strings.ContainsRune(c, '/') {
			if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return c
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	return ""
}

func locate(kind Kind) (binaries, error) {
	var b binaries
	missing := func(what string) error {
		return fmt.Errorf("%w: %s: %s not found (install it with %s)", ErrNotInstalled, kind, what, InstallHint)
	}
	switch kind {
	case Vsftpd:
		b.server = findFirst(filepath.Join(ServersDir(), "vsftpd/usr/sbin/vsftpd"), "/usr/sbin/vsftpd", "vsftpd")
		if b.server == "" {
			return b, missing(filepath.Join(ServersDir(), "vsftpd/usr/sbin/vsftpd"))
		}
	case Proftpd:
		b.server = findFirst(filepath.Join(ServersDir(), "proftpd/usr/sbin/proftpd"), "/usr/sbin/proftpd", "proftpd")
		if b.server == "" {
			return b, missing(filepath.Join(ServersDir(), "proftpd/usr/sbin/proftpd"))
		}
		// .../usr/sbin/proftpd -> .../usr/lib/proftpd
		b.modules = filepath.Join(filepath.Dir(filepath.Dir(b.server)), "lib/proftpd")
		b.openssl = findFirst("/usr/bin/openssl", "openssl")
		if b.openssl == "" {
			return b, missing("openssl")
		}
	case PureFTPd:
		b.server = findFirst("/usr/sbin/pure-ftpd", "pure-ftpd")
		if b.server == "" {
			return b, missing("/usr/sbin/pure-ftpd")
		}
		b.purePw = findFirst("/usr/bin/pure-pw", "/usr/sbin/pure-pw", "pure-pw")
		if b.purePw == "" {
			return b, missing("/usr/bin/pure-pw")
		}
		b.openssl = findFirst("/usr/bin/openssl", "openssl")
		if b.openssl == "" {
			return b, missing("openssl")
		}
	case Pyftpdlib:
		b.server = findFirst("/usr/bin/python3", "python3")
		if b.server == "" {
			return b, missing("/usr/bin/python3")
		}
		if out, err := exec.Command(b.server, "-c", "import pyftpdlib").CombinedOutput(); err != nil {
			return b, missing(fmt.Sprintf("python module pyftpdlib (%s: %s)", b.server, strings.TrimSpace(string(out))))
		}
	default:
		return b, fmt.Errorf("realserver: unknown kind %q", kind)
	}
	if kind != Pyftpdlib && os.Geteuid() != 0 {
		return b, fmt.Errorf("%w: %s must be started as root (run the tests as root)", ErrNeedsRoot, kind)
	}
	return b, nil
}

var ipv6Once struct {
	sync.Once
	err error
}

// ipv6Loopback reports whether this machine can listen on ::1.
func ipv6Loopback() error {
	ipv6Once.Do(func() {
		l, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			ipv6Once.err = fmt.Errorf("%w: %v", ErrNoIPv6, err)
			return
		}
		l.Close()
	})
	return ipv6Once.err
}

// Check reports whether Start can run kind with opts here: nil, or an
// error wrapping ErrNotInstalled, ErrNeedsRoot or ErrNoIPv6.
func Check(kind Kind, opts Options) error {
	b, err := locate(kind)
	if err != nil {
		return err
	}
	if opts.TLS != NoTLS {
		if err := checkTLS(kind, b); err != nil {
			return err
		}
	}
	if opts.TLS == ImplicitTLS && kind != Vsftpd {
		return fmt.Errorf("realserver: %s: implicit TLS is set up for vsftpd only", kind)
	}
	if opts.IPv6 {
		return ipv6Loopback()
	}
	return nil
}

// Start runs a server of the given kind for the test and stops it (and its
// session processes) in t.Cleanup. It waits until the server greets with
// 220. A missing server skips the test, or fails it when CI=true.
func Start(t testing.TB, kind Kind, opts Options) *Server {
	t.Helper()
	b, err := locate(kind)
	if err == nil && opts.TLS != NoTLS {
		err = checkTLS(kind, b)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI=true: the CI script must run .ci/install-servers (as root) before the tests", err)
		}
		t.Skipf("%v", err)
	}
	if opts.IPv6 {
		if err := ipv6Loopback(); err != nil {
			t.Skipf("%s over IPv6: %v", kind, err)
		}
	}
	if opts.TLS == ImplicitTLS && kind != Vsftpd {
		t.Fatalf("realserver: %s: implicit TLS is set up for vsftpd only", kind)
	}
	s, err := startTrying(kind, b, opts, t.Logf)
	if err != nil {
		t.Fatalf("realserver: starting %s: %v", kind, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("realserver: %s logs:\n%s", kind, s.Logs())
		}
		s.Close()
	})
	return s
}

// Run starts a server of the given kind outside a test (a benchmark's or
// a soak's command), waiting until it greets with 220. The caller must
// Close it. A missing server is an error wrapping ErrNotInstalled (or
// ErrNeedsRoot, ErrNoIPv6), as Check reports it.
func Run(kind Kind, opts Options) (*Server, error) {
	if err := Check(kind, opts); err != nil {
		return nil, err
	}
	b, err := locate(kind)
	if err != nil {
		return nil, err
	}
	return startTrying(kind, b, opts, func(string, ...any) {})
}

// Close stops the server and its session processes and removes its
// served tree and configuration. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		releasePorts(s.PassivePorts[0] - 1) // the block starts at the control port
		os.RemoveAll(s.base)
	})
}

func startTrying(kind Kind, b binaries, opts Options, logf func(string, ...any)) (*Server, error) {
	var lastErr error
	for try := 1; try <= startTries; try++ {
		s, err := start(kind, b, opts)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errEarlyExit) {
			break
		}
		// Most likely a port taken between our check and the server's
		// bind: try other ports.
		logf("realserver: %s: start attempt %d: %v", kind, try, err)
	}
	return nil, lastErr
}

var errEarlyExit = errors.New("server exited before greeting")

func start(kind Kind, b binaries, opts Options) (*Server, error) {
	base, err := os.MkdirTemp("", "keepftp-"+string(kind)+"-")
	if err != nil {
		return nil, err
	}
	// MkdirTemp makes 0700; the servers' unprivileged users must reach Root.
	if err := os.Chmod(base, 0o755); err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	s := &Server{
		Kind:      kind,
		Root:      filepath.Join(base, "root"),
		UploadDir: "/",
		User:      testUser,
		Password:  testPassword,
		opts:      opts,
		base:      base,
		uid:       os.Geteuid(),
		gid:       os.Getegid(),
		out:       &syncBuffer{},
		done:      make(chan struct{}),
	}
	ok := false
	defer func() {
		if !ok {
			s.stop()
			os.RemoveAll(base)
		}
	}()
	for _, d := range []string{s.Root, s.etc()} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}

	host := "127.0.0.1"
	if opts.IPv6 {
		host = "::1"
	}
	port, hi, err := reservePorts(host)
	if err != nil {
		return nil, err
	}
	defer func() {
		if !ok {
			releasePorts(port)
		}
	}()
	s.PassivePorts = [2]int{port + 1, hi}
	s.Addr = net.JoinHostPort(host, strconv.Itoa(port))

	var args []string
	switch kind {
	case Vsftpd:
		args, err = s.setupVsftpd(b, host, port)
	case Proftpd:
		args, err = s.setupProftpd(b, host, port)
	case PureFTPd:
		args, err = s.setupPureFTPd(b, host, port)
	case Pyftpdlib:
		args, err = s.setupPyftpdlib(b, host, port)
	}
	if err != nil {
		return nil, err
	}

	cmd := exec.Command(b.server, args...)
	if kind == PureFTPd {
		s.withSyslog(cmd)
	}
	cmd.Dir = base
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // its session processes share its group: stop them all
		Pdeathsig: syscall.SIGKILL, // never outlive a crashed test binary
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", b.server, err)
	}
	s.cmd = cmd
	s.Pid = cmd.Process.Pid
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	if err := s.waitReady(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

func (s *Server) etc() string { return filepath.Join(s.base, "etc") }

// waitReady dials until the server greets with 220 on its own port,
// within readyTimeout.
func (s *Server) waitReady() error {
	_, p, _ := net.SplitHostPort(s.Addr)
	port, _ := strconv.Atoi(p)
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%w: %s (%v); output:\n%s", errEarlyExit, s.Kind, s.waitErr, s.Logs())
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil && s.opts.TLS == ImplicitTLS {
			tc := tls.Client(c, &tls.Config{RootCAs: s.PKI.Roots, ServerName: "localhost"})
			tc.SetDeadline(time.Now().Add(5 * time.Second))
			if err = tc.Handshake(); err != nil {
				c.Close()
			}
			c = tc
		}
		if err != nil {
			last = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err == nil && strings.HasPrefix(line, "220") && !listensOn(s.Pid, port) {
			// Another process's server on our port: ours will fail to
			// bind it and exit (errEarlyExit, and Start tries other
			// ports), unless it has not bound it yet.
			err = fmt.Errorf("a server not started here answers on %s", s.Addr)
		}
		if err == nil && strings.HasPrefix(line, "220") {
			fmt.Fprintf(c, "QUIT\r\n")
			c.Close()
			return nil
		}
		c.Close()
		last = fmt.Errorf("greeting %q: %v", strings.TrimSpace(line), err)
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s on %s gave no 220 greeting within %v (last: %v); output:\n%s", s.Kind, s.Addr, readyTimeout, last, s.Logs())
}

// stop ends the server and every process of its group, by its pid.
func (s *Server) stop() {
	if s.syslog != nil {
		defer s.syslog.close()
	}
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pgid := s.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
	// Session processes left in the group (the listener is gone).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// Logs returns the server's output and log files, for failure messages.
func (s *Server) Logs() string {
	var b strings.Builder
	b.WriteString("--- output of ")
	b.WriteString(string(s.Kind))
	b.WriteString(" ---\n")
	b.Write(s.out.Bytes())
	logs, _ := filepath.Glob(filepath.Join(s.etc(), "*.log"))
	sort.Strings(logs)
	for _, f := range logs {
		data, err := os.ReadFile(f)
		if err != nil || len(data) == 0 {
			continue
		}
		fmt.Fprintf(&b, "--- %s ---\n", filepath.Base(f))
		b.Write(data)
	}
	return b.String()
}

// local maps a remote path to the local file under Root.
func (s *Server) local(remotePath string) (string, error) {
	clean := path.Clean("/" + remotePath)
	if clean == "/" {
		return "", fmt.Errorf("realserver: %q is the root, not a file", remotePath)
	}
	return filepath.Join(s.Root, filepath.FromSlash(clean)), nil
}

// WriteFile puts a fixture at remotePath (relative to the served root),
// creating parent directories, readable by the server and owned by the
// user its sessions run as (so they can overwrite or delete it).
func (s *Server) WriteFile(remotePath string, data []byte) error {
	p, err := s.local(remotePath)
	if err != nil {
		return err
	}
	// Create the missing parents one by one, so that they get the owner too.
	var made []string
	for d := filepath.Dir(p); d != s.Root; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		made = append(made, d)
	}
	for i := len(made) - 1; i >= 0; i-- {
		if err := os.Mkdir(made[i], 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		if err := s.chown(made[i]); err != nil {
			return err
		}
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
		return err
	}
	return s.chown(p)
}

func (s *Server) chown(p string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return os.Lchown(p, s.uid, s.gid)
}

// ReadFile returns the content of remotePath in the served tree.
func (s *Server) ReadFile(remotePath string) ([]byte, error) {
	p, err := s.local(remotePath)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}
