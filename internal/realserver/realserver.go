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
// How the servers behave (NOOP during a transfer, the end of a transfer,
// timeouts) is recorded in docs/servers.md; the tests here check it.
package realserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
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

	opts    Options
	base    string // temp dir holding Root and the config, logs
	uid     int    // owner of uploadable files (the session's user)
	gid     int
	cmd     *exec.Cmd
	out     *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error
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
	if _, err := locate(kind); err != nil {
		return err
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
	var lastErr error
	for try := 1; try <= startTries; try++ {
		s, err := start(t, kind, b, opts)
		if err == nil {
			return s
		}
		lastErr = err
		if !errors.Is(err, errEarlyExit) {
			break
		}
		// Most likely a port taken between our check and the server's
		// bind: try other ports.
		t.Logf("realserver: %s: start attempt %d: %v", kind, try, err)
	}
	t.Fatalf("realserver: starting %s: %v", kind, lastErr)
	return nil
}

var errEarlyExit = errors.New("server exited before greeting")

func start(t testing.TB, kind Kind, b binaries, opts Options) (*Server, error) {
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
	port, err := freePort(host)
	if err != nil {
		return nil, err
	}
	lo, hi, err := reservePassive(host)
	if err != nil {
		return nil, err
	}
	defer func() {
		if !ok {
			releasePassive(lo)
		}
	}()
	s.PassivePorts = [2]int{lo, hi}
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
	t.Cleanup(func() {
		s.stop()
		releasePassive(lo)
		if t.Failed() {
			t.Logf("realserver: %s logs:\n%s", kind, s.Logs())
		}
		os.RemoveAll(base)
	})
	return s, nil
}

func (s *Server) etc() string { return filepath.Join(s.base, "etc") }

// waitReady dials until the server greets with 220, within readyTimeout.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%w: %s (%v); output:\n%s", errEarlyExit, s.Kind, s.waitErr, s.Logs())
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err != nil {
			last = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
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

// ---- vsftpd ----

func (s *Server) setupVsftpd(b binaries, host string, port int) ([]string, error) {
	// Anonymous only. The anonymous root must not be writable by the
	// session's user: Root stays root's, uploads go to /upload, owned by
	// ftp_username.
	const ftpUser = "daemon"
	uid, gid, err := lookupUser(ftpUser)
	if err != nil {
		return nil, err
	}
	s.uid, s.gid = uid, gid
	s.User, s.Password = "", ""
	s.UploadDir = "/upload"
	up := filepath.Join(s.Root, "upload")
	if err := os.Mkdir(up, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chown(up, uid, gid); err != nil {
		return nil, err
	}
	empty := filepath.Join(s.etc(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		return nil, err
	}
	listen := "listen=YES\nlisten_ipv6=NO\nlisten_address=" + host
	if strings.Contains(host, ":") {
		listen = "listen=NO\nlisten_ipv6=YES\nlisten_address6=" + host
	}
	conf := fmt.Sprintf(`# keepftp realserver
%s
listen_port=%d
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=%s
ftp_username=%s
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_umask=022
anon_world_readable_only=YES
pasv_enable=YES
pasv_min_port=%d
pasv_max_port=%d
port_enable=YES
connect_from_port_20=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=%s
tcp_wrappers=NO
dirmessage_enable=NO
hide_ids=NO
max_clients=0
max_per_ip=0
syslog_enable=NO
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=%s
`, listen, port, s.Root, ftpUser, s.PassivePorts[0], s.PassivePorts[1], empty,
		filepath.Join(s.etc(), "vsftpd.log"))
	if secs := seconds(s.opts.IdleTimeout); secs > 0 {
		conf += fmt.Sprintf("idle_session_timeout=%d\n", secs)
	}
	cf := filepath.Join(s.etc(), "vsftpd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	return []string{cf}, nil
}

// virtualUser prepares the login of proftpd's and pure-ftpd's virtual
// user: sessions run as nobody, who owns the served root, and the
// password is stored as a SHA-512 crypt hash.
func (s *Server) virtualUser(b binaries) (uid, gid int, hash string, err error) {
	if uid, gid, err = lookupUser("nobody"); err != nil {
		return 0, 0, "", err
	}
	s.uid, s.gid = uid, gid
	if err := os.Chown(s.Root, uid, gid); err != nil {
		return 0, 0, "", err
	}
	hash, err = cryptSHA512(b.openssl, s.Password)
	return uid, gid, hash, err
}

// ---- proftpd ----

func (s *Server) setupProftpd(b binaries, host string, port int) ([]string, error) {
	uid, gid, hash, err := s.virtualUser(b)
	if err != nil {
		return nil, err
	}
	group, err := user.LookupGroupId(strconv.Itoa(gid))
	if err != nil {
		return nil, err
	}
	passwd := filepath.Join(s.etc(), "ftpd.passwd")
	line := fmt.Sprintf("%s:%s:%d:%d::%s:/bin/false\n", s.User, hash, uid, gid, s.Root)
	if err := os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		return nil, err
	}
	groupFile := filepath.Join(s.etc(), "ftpd.group")
	if err := os.WriteFile(groupFile, []byte(fmt.Sprintf("%s:x:%d:%s\n", group.Name, gid, s.User)), 0o600); err != nil {
		return nil, err
	}
	etc := s.etc()
	var c strings.Builder
	fmt.Fprintf(&c, `# keepftp realserver
ServerType standalone
ServerName "keepftp realserver"
DefaultAddress %s
SocketBindTight on
UseIPv6 %s
Port %d
PassivePorts %d %d
User nobody
Group %s
Umask 022
MaxInstances 64
PidFile %s/proftpd.pid
ScoreboardFile %s/proftpd.scoreboard
DelayTable %s/proftpd.delay
TransferLog %s/xfer.log
WtmpLog off
UseReverseDNS off
UseFtpUsers off
AuthPAM off
AuthOrder mod_auth_file.c
AuthUserFile %s
AuthGroupFile %s
RequireValidShell off
DefaultRoot ~
AllowOverwrite on
AllowStoreRestart on
AllowRetrieveRestart on
<IfModule mod_ctrls.c>
  ControlsEngine off
</IfModule>
<IfModule mod_cap.c>
  CapabilitiesEngine off
</IfModule>
`, host, onOff(strings.Contains(host, ":")), port, s.PassivePorts[0], s.PassivePorts[1], group.Name,
		etc, etc, etc, etc, passwd, groupFile)
	if secs := seconds(s.opts.IdleTimeout); secs > 0 {
		fmt.Fprintf(&c, "TimeoutIdle %d\n", secs)
	}
	if s.opts.Digest {
		if _, err := os.Stat(filepath.Join(b.modules, "mod_digest.so")); err != nil {
			return nil, fmt.Errorf("proftpd Digest: %w", err)
		}
		fmt.Fprintf(&c, `ModulePath %s
<IfModule mod_dso.c>
  LoadModule mod_digest.c
</IfModule>
<IfModule mod_digest.c>
  DigestEngine on
  DigestAlgorithms all
</IfModule>
`, b.modules)
	}
	cf := filepath.Join(etc, "proftpd.conf")
	if err := os.WriteFile(cf, []byte(c.String()), 0o600); err != nil {
		return nil, err
	}
	// -n: foreground, logging to stderr.
	return []string{"-n", "-c", cf}, nil
}

// ---- pure-ftpd ----

func (s *Server) setupPureFTPd(b binaries, host string, port int) ([]string, error) {
	// pure-pw useradd would hash with argon2id at a cost that makes each
	// login take seconds; a SHA-512 crypt hash is accepted as well.
	uid, gid, hash, err := s.virtualUser(b)
	if err != nil {
		return nil, err
	}
	passwd := filepath.Join(s.etc(), "pureftpd.passwd")
	pdb := filepath.Join(s.etc(), "pureftpd.pdb")
	// "/./" after the home makes it the user's chroot.
	line := fmt.Sprintf("%s:%s:%d:%d::%s/./::::::::::::\n", s.User, hash, uid, gid, s.Root)
	if err := os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.Command(b.purePw, "mkdb", pdb, "-f", passwd).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pure-pw mkdb: %v: %s", err, out)
	}
	args := []string{
		"-S", host + "," + strconv.Itoa(port),
		"-p", fmt.Sprintf("%d:%d", s.PassivePorts[0], s.PassivePorts[1]),
		"-l", "puredb:" + pdb,
		"-E", // no anonymous
		"-A", // chroot everyone
		"-H", // no DNS
		"-u", "1",
		"-O", "clf:" + filepath.Join(s.etc(), "xfer.log"),
	}
	if s.opts.IdleTimeout > 0 {
		mins := int((s.opts.IdleTimeout + time.Minute - 1) / time.Minute)
		args = append(args, "-I", strconv.Itoa(mins))
	}
	return args, nil
}

// ---- pyftpdlib ----

func (s *Server) setupPyftpdlib(b binaries, host string, port int) ([]string, error) {
	argv := []string{"pyftpdlib",
		"-i", host, "-p", strconv.Itoa(port), "-w", "-d", s.Root,
		"-r", fmt.Sprintf("%d-%d", s.PassivePorts[0], s.PassivePorts[1]),
		"-u", s.User, "-P", s.Password,
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = strconv.Quote(a)
	}
	timeout := ""
	if secs := seconds(s.opts.IdleTimeout); secs > 0 {
		timeout = fmt.Sprintf("FTPHandler.timeout = %d\n", secs)
	}
	// Its timeouts are class attributes, not flags: set them, then run
	// the module's main() as `python3 -m pyftpdlib` would.
	script := fmt.Sprintf(`import sys
from pyftpdlib.handlers import FTPHandler
%ssys.argv = [%s]
from pyftpdlib.__main__ import main
main()
`, timeout, strings.Join(quoted, ", "))
	return []string{"-u", "-c", script}, nil
}

// ---- helpers ----

func seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func lookupUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("realserver: user %s: %w", name, err)
	}
	uid, err = strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, err
	}
	gid, err = strconv.Atoi(u.Gid)
	return uid, gid, err
}

func cryptSHA512(openssl, password string) (string, error) {
	cmd := exec.Command(openssl, "passwd", "-6", "-stdin")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("openssl passwd -6: %w", err)
	}
	h := strings.TrimSpace(string(out))
	if !strings.HasPrefix(h, "$6$") {
		return "", fmt.Errorf("openssl passwd -6 gave %q", h)
	}
	return h, nil
}

// freePort returns a port that was free on host a moment ago.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Passive ranges are taken below Linux's ephemeral range (32768-60999), so
// that neither the control ports from freePort nor the clients' own ports
// land in them, and are kept distinct within this process.
const (
	passiveMin = 20000
	passiveMax = 32700
)

var passive struct {
	sync.Mutex
	used map[int]bool // base port -> in use
}

func reservePassive(host string) (lo, hi int, err error) {
	passive.Lock()
	defer passive.Unlock()
	if passive.used == nil {
		passive.used = map[int]bool{}
	}
	slots := (passiveMax - passiveMin) / passiveCount
	for try := 0; try < 200; try++ {
		lo = passiveMin + rand.IntN(slots)*passiveCount
		if passive.used[lo] || !rangeFree(host, lo, lo+passiveCount-1) {
			continue
		}
		passive.used[lo] = true
		return lo, lo + passiveCount - 1, nil
	}
	return 0, 0, errors.New("realserver: no free passive port range")
}

func releasePassive(lo int) {
	passive.Lock()
	defer passive.Unlock()
	delete(passive.used, lo)
}

func rangeFree(host string, lo, hi int) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for p := lo; p <= hi; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	return true
}

// syncBuffer is a bytes.Buffer safe for the process's writers and Logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}
