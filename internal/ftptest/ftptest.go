// Package ftptest is a scripted FTP server over net.Pipe, for tests of
// timer logic in virtual time (testing/synctest): the script reads the
// client's commands and writes replies, and data connections the client
// dials arrive on Data.
package ftptest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Server is a scripted FTP server over net.Pipe, for tests in virtual
// time (testing/synctest): the script reads the client's commands and
// writes replies; data connections dialled by the client arrive on data.
type Server struct {
	t    testing.TB
	Ctrl net.Conn
	r    *textproto.Reader
	w    *bufio.Writer
	Data chan net.Conn

	wmu sync.Mutex // Send may be called from several script goroutines

	epsvPort int         // the port EPSV replies name: 40000 over net.Pipe, the data listener's over TCP
	quiet    atomic.Bool // the test is over: I/O errors are expected, not failures
}

// New returns a scripted server and the DialContext to give the client.
// The first dial is the control connection; later ones are data
// connections.
func New(t *testing.T) (*Server, func(ctx context.Context, network, addr string) (net.Conn, error)) {
	fs := &Server{t: t, Data: make(chan net.Conn, 4), epsvPort: 40000}
	ctrlClient, ctrlServer := net.Pipe()
	fs.Ctrl = ctrlServer
	fs.r = textproto.NewReader(bufio.NewReader(ctrlServer))
	fs.w = bufio.NewWriter(ctrlServer)
	first := true
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if first {
			first = false
			return ctrlClient, nil
		}
		c, s := net.Pipe()
		fs.Data <- s
		return c, nil
	}
	t.Cleanup(func() { ctrlServer.Close() })
	return fs, dial
}

// Expect reads one command and fails the test unless it is want.
func (fs *Server) Expect(want string) {
	fs.t.Helper()
	line, err := fs.r.ReadLine()
	if err != nil {
		fs.failf("server: reading %q: %v", want, err)
		return
	}
	if line != want {
		fs.t.Errorf("server: got command %q, want %q", line, want)
	}
}

// Send writes raw reply lines, each terminated with CRLF.
func (fs *Server) Send(lines ...string) {
	fs.wmu.Lock()
	defer fs.wmu.Unlock()
	for _, l := range lines {
		fmt.Fprintf(fs.w, "%s\r\n", l)
	}
	if err := fs.w.Flush(); err != nil {
		fs.failf("server: send %q: %v", lines, err)
	}
}

// TrySend is Send for a script that expects the client to hang up (a
// hostile server): a write error is returned, not a test failure.
func (fs *Server) TrySend(lines ...string) error {
	fs.wmu.Lock()
	defer fs.wmu.Unlock()
	for _, l := range lines {
		fmt.Fprintf(fs.w, "%s\r\n", l)
	}
	return fs.w.Flush()
}

// TryReadCmd reads one command, or returns the error (the client hung up).
func (fs *Server) TryReadCmd() (string, error) {
	line, err := fs.r.ReadLine()
	return strings.TrimSpace(line), err
}

// EPSVReply is the 229 reply that points the client at the server's data
// connections.
func (fs *Server) EPSVReply() string {
	return fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)", fs.epsvPort)
}

func (fs *Server) failf(format string, args ...any) {
	fs.t.Helper()
	if !fs.quiet.Load() {
		fs.t.Errorf(format, args...)
	}
}

// Serve answers one command with the given reply lines.
func (fs *Server) Serve(cmd string, reply ...string) {
	fs.t.Helper()
	fs.Expect(cmd)
	fs.Send(reply...)
}

// Login plays the server side of Dial: greeting, USER/PASS, FEAT, OPTS
// UTF8 ON (which the login written in one go always sends), TYPE I.
func (fs *Server) Login() {
	fs.Send("220 fake server ready")
	fs.Serve("USER anonymous", "331 password please")
	fs.Serve("PASS keepftp@", "230 logged in")
	fs.Serve("FEAT", "211-Features:", " MDTM", " REST STREAM", " SIZE", " MLST type*;size*;modify*;", "211 End")
	fs.Serve("OPTS UTF8 ON", "501 no such option")
	fs.Serve("TYPE I", "200 binary")
}

// OpenRetr plays EPSV + RETR up to the 150 and returns the data connection.
func (fs *Server) OpenRetr(path string) net.Conn {
	fs.Serve("EPSV", fs.EPSVReply())
	d := <-fs.Data
	fs.Serve("RETR "+path, "150 Opening BINARY mode data connection")
	return d
}

func (fs *Server) ReadCmd() string {
	line, err := fs.r.ReadLine()
	if err != nil {
		fs.failf("server: %v", err)
	}
	return strings.TrimSpace(line)
}
