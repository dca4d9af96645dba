package control

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"
)

// fakeServer is a scripted FTP server over net.Pipe, for tests in virtual
// time (testing/synctest): the script reads the client's commands and
// writes replies; data connections dialled by the client arrive on data.
type fakeServer struct {
	t    *testing.T
	ctrl net.Conn
	r    *textproto.Reader
	w    *bufio.Writer
	data chan net.Conn
}

// newFakeServer returns a client Config whose DialContext is wired to the
// fake server. The first dial is the control connection.
func newFakeServer(t *testing.T) (*fakeServer, Config) {
	fs := &fakeServer{t: t, data: make(chan net.Conn, 4)}
	ctrlClient, ctrlServer := net.Pipe()
	fs.ctrl = ctrlServer
	fs.r = textproto.NewReader(bufio.NewReader(ctrlServer))
	fs.w = bufio.NewWriter(ctrlServer)
	first := true
	cfg := Config{
		Timeout: 60e9,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if first {
				first = false
				return ctrlClient, nil
			}
			c, s := net.Pipe()
			fs.data <- s
			return c, nil
		},
	}
	t.Cleanup(func() { ctrlServer.Close() })
	return fs, cfg
}

// expect reads one command and fails the test unless it is want.
func (fs *fakeServer) expect(want string) {
	fs.t.Helper()
	line, err := fs.r.ReadLine()
	if err != nil {
		fs.t.Errorf("server: reading %q: %v", want, err)
		return
	}
	if line != want {
		fs.t.Errorf("server: got command %q, want %q", line, want)
	}
}

// send writes raw reply lines, each terminated with CRLF.
func (fs *fakeServer) send(lines ...string) {
	for _, l := range lines {
		fmt.Fprintf(fs.w, "%s\r\n", l)
	}
	if err := fs.w.Flush(); err != nil {
		fs.t.Errorf("server: send %q: %v", lines, err)
	}
}

// serve answers one command with the given reply lines.
func (fs *fakeServer) serve(cmd string, reply ...string) {
	fs.t.Helper()
	fs.expect(cmd)
	fs.send(reply...)
}

// login plays the server side of Dial: greeting, USER/PASS, FEAT, TYPE I.
func (fs *fakeServer) login() {
	fs.send("220 fake server ready")
	fs.serve("USER anonymous", "331 password please")
	fs.serve("PASS keepftp@", "230 logged in")
	fs.serve("FEAT", "211-Features:", " MDTM", " REST STREAM", " SIZE", " MLST type*;size*;modify*;", "211 End")
	fs.serve("TYPE I", "200 binary")
}

// openRetr plays EPSV + RETR up to the 150 and returns the data connection.
func (fs *fakeServer) openRetr(path string) net.Conn {
	fs.serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
	d := <-fs.data
	fs.serve("RETR "+path, "150 Opening BINARY mode data connection")
	return d
}

func (fs *fakeServer) readCmd() string {
	line, err := fs.r.ReadLine()
	if err != nil {
		fs.t.Errorf("server: %v", err)
	}
	return strings.TrimSpace(line)
}
