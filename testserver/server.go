package testserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path"
	"sync"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"github.com/spf13/afero"
)

// Server is an embedded FTP server (ftpserverlib + afero) on 127.0.0.1
// with fault injection.
//
// Layout: ftpserverlib listens on an internal 127.0.0.1:0 port; the
// address returned by Addr is a small line-level proxy (noopshim.go) in
// front of it. The proxy is always there, even for NoopAfterTransfer where
// it forwards everything unchanged, so that SetNoopStyle can switch styles
// at runtime and so that each data connection can be tied to the control
// session that opened it (see faults.go). Data connections go straight to
// ftpserverlib's passive ports.
//
// With Options.TLS the server speaks FTPS (see tls.go): explicit (AUTH TLS)
// by default, implicit with Options.ImplicitTLS. The shim cannot read
// encrypted bytes, so a session under TLS is a plain byte pipe from AUTH
// TLS on (implicit: from the start): NOOP styles do not apply to it (its
// NOOPs are answered the ftpserverlib way, NoopAfterTransfer), and since
// its 227/229 replies are encrypted its data connections cannot be tied to
// it, so Faults do not apply to its transfers either, and Stats do not
// count its commands or data bytes (Connections and ActiveConns still
// count it).
type Server struct {
	opts  Options
	fs    afero.Fs
	ftp   *ftpserver.FtpServer
	inner net.Listener // ftpserverlib's control listener
	pub   net.Listener // the shim's listener, what clients connect to
	stats *notifier[Stats]

	mu        sync.Mutex
	closed    bool
	faults    Faults
	noop      NoopStyle
	sessions  map[*shimSession]struct{}
	ports     map[int]*shimSession // passive port -> session that announced it
	dataConns map[*dataConn]struct{}
	log       commandLog

	serveDone chan struct{}
	wg        sync.WaitGroup // shim goroutines
}

// Options configures Start.
type Options struct {
	// Users maps user to password. If empty, anonymous login is accepted:
	// user "anonymous" or "ftp" with any password.
	Users map[string]string
	// Root is served through afero.NewBasePathFs(afero.NewOsFs(), Root);
	// "" serves an in-memory afero.MemMapFs.
	Root string
	// Listen is the public control address; default "127.0.0.1:0".
	Listen string
	// Noop selects how NOOP is answered while a transfer runs.
	Noop NoopStyle
	// Faults are the initial faults; SetFaults replaces them.
	Faults Faults
	// IdleTimeout is ftpserverlib's control idle timeout, rounded up to
	// whole seconds (its unit). 0 keeps ftpserverlib's default (900 s).
	IdleTimeout time.Duration
	// MaxConnsPerIP, if positive, is the most control connections open at
	// once from one client address; the next is refused at the greeting
	// with "421 Too many connections (N) from this IP" and closed, as
	// pure-ftpd -C does (Stats.Refused counts them).
	MaxConnsPerIP int
	// EnableHASH turns on ftpserverlib's HASH/XSHA256/XMD5/... commands.
	EnableHASH bool
	// TLS, if set, is the server's TLS configuration (its certificate) and
	// turns on FTPS: FEAT lists AUTH TLS, PBSZ and PROT, AUTH TLS is
	// accepted, and data connections are encrypted after PROT P. Plain
	// sessions are still accepted. SelfSignedTLS makes one for tests.
	TLS *tls.Config
	// ImplicitTLS makes the control port speak TLS from the first byte
	// (FTPS on port 990) and every data connection TLS, whatever PROT
	// says. It requires TLS.
	ImplicitTLS bool
	// Logf, if set, receives debug logs of the server and the shim.
	Logf func(format string, args ...any)
}

// Start starts a server and returns once it accepts connections.
func Start(opts Options) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.ImplicitTLS && opts.TLS == nil {
		return nil, errors.New("testserver: ImplicitTLS needs Options.TLS")
	}
	var base afero.Fs
	if opts.Root != "" {
		base = afero.NewBasePathFs(afero.NewOsFs(), opts.Root)
	} else {
		base = afero.NewMemMapFs()
	}
	s := &Server{
		opts:      opts,
		fs:        base,
		stats:     newNotifier[Stats](),
		faults:    opts.Faults.clone(),
		noop:      opts.Noop,
		sessions:  make(map[*shimSession]struct{}),
		ports:     make(map[int]*shimSession),
		dataConns: make(map[*dataConn]struct{}),
		serveDone: make(chan struct{}),
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.inner = inner
	pub, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		inner.Close()
		return nil, err
	}
	s.pub = pub

	s.ftp = ftpserver.NewFtpServer(&mainDriver{s: s})
	if opts.Logf != nil {
		s.ftp.Logger = slog.New(slog.NewTextHandler(logfWriter(opts.Logf), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := s.ftp.Listen(); err != nil {
		inner.Close()
		pub.Close()
		return nil, err
	}
	go func() {
		defer close(s.serveDone)
		if err := s.ftp.Serve(); err != nil {
			s.logf("ftpserverlib Serve: %v", err)
		}
	}()
	s.wg.Add(1)
	go s.acceptShim()
	return s, nil
}

// Addr returns the control address clients connect to ("127.0.0.1:port").
func (s *Server) Addr() string { return s.pub.Addr().String() }

// Fs returns the filesystem served; tests write fixtures into it.
func (s *Server) Fs() afero.Fs { return s.fs }

// WriteFile writes a fixture file, creating its parent directories.
func (s *Server) WriteFile(name string, data []byte) error {
	name = path.Clean("/" + name)
	if err := s.fs.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}
	return afero.WriteFile(s.fs, name, data, 0o644)
}

// SetFaults replaces the faults. Transfers already running keep the
// faults they started with; the cut queues start over from f.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f.clone()
	s.mu.Unlock()
}

// SetNoopStyle changes how NOOP is answered from the next NOOP on.
func (s *Server) SetNoopStyle(n NoopStyle) {
	s.mu.Lock()
	s.noop = n
	s.mu.Unlock()
}

func (s *Server) noopStyle() NoopStyle {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noop
}

// Close stops the listeners and closes every client control and data
// connection. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	sessions := make([]*shimSession, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	dcs := make([]*dataConn, 0, len(s.dataConns))
	for dc := range s.dataConns {
		dcs = append(dcs, dc)
	}
	s.mu.Unlock()

	err := s.pub.Close()
	// Stop closes ftpserverlib's listener; ftpserverlib has no way to drop
	// its clients, so they go away when the shim closes their connections.
	if errStop := s.ftp.Stop(); errStop != nil && err == nil {
		err = errStop
	}
	for _, ss := range sessions {
		ss.close()
	}
	for _, dc := range dcs {
		dc.Close()
	}
	s.wg.Wait()
	<-s.serveDone
	return err
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// logfWriter adapts Logf to the io.Writer that slog's handler wants.
type logfWriter func(format string, args ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("ftpserverlib: %s", string(p))
	return len(p), nil
}

// mainDriver is ftpserverlib's view of the Server.
type mainDriver struct{ s *Server }

var (
	_ ftpserver.MainDriver                        = (*mainDriver)(nil)
	_ ftpserver.MainDriverExtensionPassiveWrapper = (*mainDriver)(nil)
	_ ftpserver.ClientDriverExtensionRemoveDir    = (*faultFs)(nil)
)

func (d *mainDriver) GetSettings() (*ftpserver.Settings, error) {
	idle := 0
	if t := d.s.opts.IdleTimeout; t > 0 {
		idle = int((t + time.Second - 1) / time.Second)
	}
	settings := &ftpserver.Settings{
		Listener:   d.s.inner,
		PublicHost: "127.0.0.1",
		// Tests that stall or cut a transfer must not wait 30 s for a
		// client that never connects its data connection.
		ConnectionTimeout: 5,
		IdleTimeout:       idle,
		EnableHASH:        d.s.opts.EnableHASH,
		// Active mode (PORT/EPRT) connects from any port: port 20 would
		// need root and collide between parallel tests.
		ActiveTransferPortNon20: true,
		Banner:                  "keepftp testserver",
	}
	if d.s.opts.ImplicitTLS {
		// ftpserverlib wraps only a listener it creates itself in TLS, not
		// Settings.Listener: do it here. ImplicitEncryption makes it treat
		// the control connection and every data connection as TLS.
		settings.Listener = tls.NewListener(d.s.inner, d.s.opts.TLS)
		settings.TLSRequired = ftpserver.ImplicitEncryption
	}
	return settings, nil
}

func (d *mainDriver) ClientConnected(ftpserver.ClientContext) (string, error) {
	d.s.stats.update(func(st *Stats) {
		st.Connections++
		st.ActiveConns++
		if st.ActiveConns > st.MaxActiveConns {
			st.MaxActiveConns = st.ActiveConns
		}
	})
	return "keepftp testserver ready", nil
}

func (d *mainDriver) ClientDisconnected(ftpserver.ClientContext) {
	d.s.stats.update(func(st *Stats) { st.ActiveConns-- })
}

var errBadLogin = errors.New("bad user or password")

func (d *mainDriver) AuthUser(_ ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	if len(d.s.opts.Users) == 0 {
		if user != "anonymous" && user != "ftp" {
			return nil, errBadLogin
		}
	} else if want, ok := d.s.opts.Users[user]; !ok || want != pass {
		return nil, errBadLogin
	}
	return &faultFs{Fs: d.s.fs, s: d.s}, nil
}

// GetTLSConfig is what ftpserverlib uses for AUTH TLS, FEAT (AUTH TLS is
// listed only when it returns a config) and protected data connections.
func (d *mainDriver) GetTLSConfig() (*tls.Config, error) {
	if d.s.opts.TLS == nil {
		return nil, errors.New("TLS not enabled on this testserver")
	}
	return d.s.opts.TLS, nil
}

// WrapPassiveListener is how the fault layer gets hold of the data
// connections themselves (see faults.go).
func (d *mainDriver) WrapPassiveListener(l net.Listener) (net.Listener, error) {
	return &dataListener{Listener: l, s: d.s}, nil
}

// faultFs wraps the served filesystem for the one fault that lives at the
// file level, IgnoreREST, and to remove as a real server does (RMD of an
// empty directory only, DELE of a file only).
type faultFs struct {
	afero.Fs
	s *Server
}

// RemoveDir is RMD: like rmdir(2) and every real server, it removes an
// empty directory only (afero's in-memory Remove would take a directory
// with all it holds, and hide a client that removes too much).
func (f *faultFs) RemoveDir(name string) error {
	st, err := f.Fs.Stat(name)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory", name)
	}
	if names, err := afero.ReadDir(f.Fs, name); err != nil || len(names) > 0 {
		return fmt.Errorf("%s: directory not empty", name)
	}
	return f.Fs.Remove(name)
}

// Remove is DELE (and ftpserverlib's cleanup of a failed upload): a file
// only, never a directory.
func (f *faultFs) Remove(name string) error {
	if st, err := f.Fs.Stat(name); err == nil && st.IsDir() {
		return fmt.Errorf("%s: is a directory", name)
	}
	return f.Fs.Remove(name)
}

func (f *faultFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	file, err := f.Fs.OpenFile(name, flag, perm)
	if err != nil || flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		return file, err
	}
	return &restFile{File: file, s: f.s}, nil
}

// restFile is a file opened for download. Embedding the afero.File
// interface also hides *os.File's WriteTo, so io.Copy cannot use sendfile
// and every byte goes through dataConn.Write, where it is counted.
type restFile struct {
	afero.File
	s *Server
}

// Seek is how ftpserverlib applies REST. With IgnoreREST it pretends to
// have moved, so the client got "350" but the data starts at offset 0.
func (f *restFile) Seek(offset int64, whence int) (int64, error) {
	f.s.mu.Lock()
	ignore := f.s.faults.IgnoreREST
	f.s.mu.Unlock()
	if ignore && whence == 0 {
		f.s.logf("IgnoreREST: seek to %d ignored", offset)
		return offset, nil
	}
	return f.File.Seek(offset, whence)
}

func (s *Server) String() string { return fmt.Sprintf("testserver(%s)", s.Addr()) }
