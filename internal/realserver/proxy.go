package realserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ProxyKind names a proxy implementation.
type ProxyKind string

// The proxies StartProxy can run (Debian packages, installed by
// .ci/install-servers).
const (
	Dante     ProxyKind = "dante"     // dante-server's danted: SOCKS5
	Tinyproxy ProxyKind = "tinyproxy" // HTTP CONNECT
)

// ProxyKinds lists every proxy StartProxy can run.
var ProxyKinds = []ProxyKind{Dante, Tinyproxy}

// ProxyOptions tune a proxy.
type ProxyOptions struct {
	// Login makes the proxy demand a user name and password. dante checks
	// them against the system's password file: StartProxy makes a system
	// user for the test (no home, no shell, an account expired for every
	// other use) and removes it at the end. tinyproxy takes BasicAuth.
	Login bool
	// IdleTimeout closes a tunnel idle this long (dante's timeout.io,
	// tinyproxy's Timeout), rounded up to whole seconds; 0 keeps an hour.
	IdleTimeout time.Duration
}

// Proxy is a running proxy.
type Proxy struct {
	Kind ProxyKind
	// Addr is the proxy's 127.0.0.1:port.
	Addr string
	// User and Password are the login, when ProxyOptions.Login.
	User, Password string
	Pid            int

	base string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// URL is the proxy's URL for keepftp's --proxy: socks5h:// (dante) or
// http:// (tinyproxy), with the login if there is one.
func (p *Proxy) URL() string {
	u := url.URL{Scheme: "socks5h", Host: p.Addr}
	if p.Kind == Tinyproxy {
		u.Scheme = "http"
	}
	if p.User != "" {
		u.User = url.UserPassword(p.User, p.Password)
	}
	return u.String()
}

// proxyBinary is where the package puts the proxy's program.
func proxyBinary(kind ProxyKind) (string, error) {
	var bin string
	switch kind {
	case Dante:
		bin = findFirst("/usr/sbin/danted", "danted")
	case Tinyproxy:
		bin = findFirst("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy", "tinyproxy")
	default:
		return "", fmt.Errorf("realserver: unknown proxy %q", kind)
	}
	if bin == "" {
		pkg := map[ProxyKind]string{Dante: "dante-server", Tinyproxy: "tinyproxy"}[kind]
		return "", fmt.Errorf("%w: %s: package %s not installed (install it with %s)", ErrNotInstalled, kind, pkg, InstallHint)
	}
	// Both drop privileges to nobody, and dante reads the shadow file and
	// the test makes its system user: root only.
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w: %s must be started as root (run the tests as root)", ErrNeedsRoot, kind)
	}
	return bin, nil
}

// CheckProxy reports whether StartProxy can run kind here: nil, or an
// error wrapping ErrNotInstalled or ErrNeedsRoot.
func CheckProxy(kind ProxyKind) error {
	_, err := proxyBinary(kind)
	return err
}

// StartProxy runs a proxy of the given kind on a free loopback port, with
// its configuration in a temporary folder, until the test ends. A missing
// proxy skips the test, or fails it when CI=true.
func StartProxy(t testing.TB, kind ProxyKind, o ProxyOptions) *Proxy {
	t.Helper()
	bin, err := proxyBinary(kind)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI=true: the CI script must run .ci/install-servers (as root) before the tests", err)
		}
		t.Skipf("%v", err)
	}
	var lastErr error
	for try := 1; try <= startTries; try++ {
		p, err := startProxy(t, kind, bin, o)
		if err == nil {
			return p
		}
		lastErr = err
		if !errors.Is(err, errEarlyExit) {
			break
		}
		t.Logf("realserver: %s: start attempt %d: %v", kind, try, err)
	}
	t.Fatalf("realserver: starting %s: %v", kind, lastErr)
	return nil
}

func startProxy(t testing.TB, kind ProxyKind, bin string, o ProxyOptions) (*Proxy, error) {
	base, err := os.MkdirTemp("", "keepftp-"+string(kind)+"-")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Kind: kind, base: base, out: &syncBuffer{}, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			p.stop()
			p.removeUser()
			os.RemoveAll(base)
		}
	}()
	if err := os.Chmod(base, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	p.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	idle := seconds(o.IdleTimeout)
	if idle == 0 {
		idle = 3600
	}
	var args []string
	switch kind {
	case Dante:
		args, err = p.setupDante(port, idle, o.Login)
	case Tinyproxy:
		args, err = p.setupTinyproxy(port, idle, o.Login)
	}
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = base
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p.cmd, p.Pid = cmd, cmd.Process.Pid
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(); err != nil {
		return nil, err
	}
	ok = true
	t.Cleanup(func() {
		p.stop()
		p.removeUser()
		if t.Failed() {
			t.Logf("realserver: %s logs:\n%s", kind, p.Logs())
		}
		os.RemoveAll(base)
	})
	return p, nil
}

// setupDante writes danted's configuration: SOCKS5 on 127.0.0.1:port to
// anywhere, no login or the system user made here.
func (p *Proxy) setupDante(port, idle int, login bool) ([]string, error) {
	method := "none"
	if login {
		if err := p.makeUser(); err != nil {
			return nil, err
		}
		method = "username"
	}
	conf := fmt.Sprintf(`logoutput: %s
internal: 127.0.0.1 port = %d
external: 127.0.0.1
clientmethod: none
socksmethod: %s
user.privileged: root
user.unprivileged: nobody
timeout.negotiate: 10
timeout.io: %d
client pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  log: error
}
socks pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  command: connect
  log: error connect disconnect
}
`, filepath.Join(p.base, "danted.log"), port, method, idle)
	f := filepath.Join(p.base, "danted.conf")
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	// One process: foreground, no daemon.
	return []string{"-f", f, "-p", filepath.Join(p.base, "danted.pid"), "-N", "1"}, nil
}

// setupTinyproxy writes tinyproxy's configuration. With no ConnectPort
// line, CONNECT may go to any port: the FTP control port and the
// passive data ports (Debian's own configuration allows 443 and 563
// only).
func (p *Proxy) setupTinyproxy(port, idle int, login bool) ([]string, error) {
	logFile := filepath.Join(p.base, "tinyproxy.log")
	// tinyproxy writes its log after dropping to nobody.
	if err := os.WriteFile(logFile, nil, 0o644); err != nil {
		return nil, err
	}
	uid, gid, err := lookupUser("nobody")
	if err != nil {
		return nil, err
	}
	if err := os.Chown(logFile, uid, gid); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "User nobody\nGroup nogroup\nPort %d\nListen 127.0.0.1\nTimeout %d\nMaxClients 200\n", port, idle)
	fmt.Fprintf(&b, "LogFile %q\nLogLevel Connect\nPidFile %q\nAllow 127.0.0.1\nDisableViaHeader Yes\n", logFile, filepath.Join(p.base, "tinyproxy.pid"))
	if login {
		p.User, p.Password = "keepftp", randomHex(8)+"-Pw"
		fmt.Fprintf(&b, "BasicAuth %s %s\n", p.User, p.Password)
	}
	f := filepath.Join(p.base, "tinyproxy.conf")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	return []string{"-d", "-c", f}, nil
}

// makeUser makes the system user dante checks a login against: a fresh
// name and password, no home, no shell, and an account expired in 1970 so
// that nothing else (su, sshd, login) accepts it; dante checks only the
// password.
func (p *Proxy) makeUser() error {
	name, pass := "kftp-"+randomHex(4), randomHex(8)+"-Pw"
	out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
		"--expiredate", "1", "--comment", "keepftp test proxy user", name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("useradd %s: %v: %s", name, err, out)
	}
	p.User = name // from here on, removeUser removes it
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(name + ":" + pass + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("chpasswd %s: %v: %s", name, err, out)
	}
	p.Password = pass
	return nil
}

// removeUser removes the system user makeUser made.
func (p *Proxy) removeUser() {
	if p.Kind != Dante || p.User == "" {
		return
	}
	if out, err := exec.Command("userdel", p.User).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "realserver: userdel %s: %v: %s\n", p.User, err, out)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// waitReady waits until the proxy accepts connections, within
// readyTimeout.
func (p *Proxy) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%w: %s (%v); output:\n%s", errEarlyExit, p.Kind, p.err, p.Logs())
		default:
		}
		if c, err := net.DialTimeout("tcp", p.Addr, time.Second); err == nil {
			err := p.speaks(c)
			c.Close()
			if err != nil {
				// The port, free a moment ago, was taken by another
				// process before the proxy could bind it (the proxy then
				// exits): start again on another port.
				return fmt.Errorf("%w: %s: another process answers on %s: %v", errEarlyExit, p.Kind, p.Addr, err)
			}
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s on %s did not accept connections within %v; output:\n%s", p.Kind, p.Addr, readyTimeout, p.Logs())
}

// speaks checks that what listens on p.Addr answers in the proxy's own
// protocol: a SOCKS5 method reply, or an HTTP status line.
func (p *Proxy) speaks(c net.Conn) error {
	c.SetDeadline(time.Now().Add(readyTimeout))
	var hello []byte
	switch p.Kind {
	case Dante:
		hello = []byte{5, 2, 0, 2} // SOCKS5, methods: none, username/password
	default:
		hello = []byte("CONNECT 127.0.0.1:1 HTTP/1.0\r\n\r\n")
	}
	if _, err := c.Write(hello); err != nil {
		return err
	}
	buf := make([]byte, 5)
	want := 5 // "HTTP/"
	if p.Kind == Dante {
		want = 2 // version, method
	}
	n, err := io.ReadAtLeast(c, buf[:want], want)
	if err != nil {
		return err
	}
	switch {
	case p.Kind == Dante && buf[0] == 5:
		return nil
	case p.Kind != Dante && n == 5 && string(buf) == "HTTP/":
		return nil
	}
	return fmt.Errorf("unexpected answer %q", buf[:n])
}

// stop ends the proxy and every process of its group.
func (p *Proxy) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
		<-p.done
	}
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}

// Logs returns the proxy's output and log file, for failure messages and
// for tests that read what the proxy did.
func (p *Proxy) Logs() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- output of %s ---\n", p.Kind)
	b.Write(p.out.Bytes())
	for _, f := range []string{"danted.log", "tinyproxy.log"} {
		if data, err := os.ReadFile(filepath.Join(p.base, f)); err == nil && len(data) > 0 {
			fmt.Fprintf(&b, "--- %s ---\n", f)
			b.Write(data)
		}
	}
	return b.String()
}
