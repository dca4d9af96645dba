package control_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// Active mode over real TCP: against the embedded server (ftpserverlib
// connects to the port we announce), plain and TLS, and against scripted
// servers for the refusals: EPRT refused (PORT instead), a foreign peer on
// our port, a server that cannot connect.

func retrAll(t *testing.T, c *control.Conn, path string) []byte {
	t.Helper()
	tr, err := c.StartTransfer(t.Context(), "RETR", path, 0)
	if err != nil {
		t.Fatalf("RETR: %v", err)
	}
	got, err := io.ReadAll(tr.Data)
	if err != nil {
		t.Fatalf("reading data: %v", err)
	}
	awaitFinal(t, tr, 226)
	if _, err := tr.End(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	return got
}

func storAll(t *testing.T, c *control.Conn, path string, data []byte) {
	t.Helper()
	tr, err := c.StartTransfer(t.Context(), "STOR", path, 0)
	if err != nil {
		t.Fatalf("STOR: %v", err)
	}
	if _, err := tr.Data.Write(data); err != nil {
		t.Fatal(err)
	}
	if tc, ok := tr.Data.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite() // a clean end of data (TLS close_notify, or FIN)
	}
	tr.Data.Close()
	awaitFinal(t, tr, 226)
	if _, err := tr.End(t.Context(), true); err != nil {
		t.Fatal(err)
	}
}

func TestActiveTestServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mode control.TLSMode
	}{{"plain", control.TLSNone}, {"explicit TLS", control.TLSExplicit}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testserver.Options{}
			cfg := control.Config{Active: true, Timeout: 5 * time.Second, TLSMode: tc.mode}
			if tc.mode != control.TLSNone {
				serverTLS, roots, err := testserver.SelfSignedTLS()
				if err != nil {
					t.Fatal(err)
				}
				opts.TLS = serverTLS
				cfg.TLS = &tls.Config{RootCAs: roots}
			}
			var mu sync.Mutex
			var log strings.Builder
			cfg.Logf = func(f string, a ...any) {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintf(&log, f+"\n", a...)
			}
			srv := ftptest.StartServer(t, opts)
			data := ftptest.RandomBytes(3 << 20)
			srv.WriteFile("/dir/a.bin", data)
			c, err := control.Dial(t.Context(), srv.Addr(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			if got := retrAll(t, c, "/dir/a.bin"); !bytes.Equal(got, data) {
				t.Fatalf("RETR: %d bytes, want the %d written", len(got), len(data))
			}
			up := ftptest.RandomBytes(1 << 20)
			storAll(t, c, "/dir/up.bin", up)
			if got, _ := afero.ReadFile(srv.Fs(), "/dir/up.bin"); !bytes.Equal(got, up) {
				t.Fatalf("STOR: the server has %d bytes, want the %d sent", len(got), len(up))
			}
			es, err := c.List(t.Context(), "/dir")
			if err != nil || len(es) != 2 {
				t.Fatalf("List = %v, %v; want a.bin and up.bin", es, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if l := log.String(); strings.Count(l, "> EPRT |1|127.0.0.1|") != 3 || strings.Contains(l, "> EPSV") || strings.Contains(l, "> PASV") {
				t.Errorf("want three EPRT and no passive command; the log:\n%s", l)
			}
		})
	}
}

// scriptServer is a scripted FTP server over real TCP (active mode needs
// a real local address). script runs after the login.
func scriptServer(t *testing.T, script func(s *scripted)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		s := &scripted{t: t, nc: nc, r: textproto.NewReader(bufio.NewReader(nc))}
		s.send("220 ready")
		s.serve("USER anonymous", "331 password")
		s.serve("PASS keepftp@", "230 in")
		s.serve("FEAT", "211 no features")
		s.serve("OPTS UTF8 ON", "500 unknown")
		s.serve("TYPE I", "200 binary")
		script(s)
	}()
	return ln.Addr().String()
}

type scripted struct {
	t  *testing.T
	nc net.Conn
	r  *textproto.Reader
}

func (s *scripted) send(lines ...string) {
	for _, l := range lines {
		io.WriteString(s.nc, l+"\r\n")
	}
}

func (s *scripted) read() string {
	line, err := s.r.ReadLine()
	if err != nil {
		s.t.Errorf("server: %v", err)
	}
	return line
}

func (s *scripted) serve(want string, reply ...string) {
	if got := s.read(); got != want {
		s.t.Errorf("server: got %q, want %q", got, want)
	}
	s.send(reply...)
}

// portAddr parses the address of an EPRT or PORT command.
func portAddr(t *testing.T, cmd string) string {
	verb, arg, _ := strings.Cut(cmd, " ")
	switch verb {
	case "EPRT":
		f := strings.Split(arg, "|")
		if len(f) != 5 || f[1] != "1" {
			t.Fatalf("EPRT %q", arg)
		}
		return net.JoinHostPort(f[2], f[3])
	case "PORT":
		f := strings.Split(arg, ",")
		if len(f) != 6 {
			t.Fatalf("PORT %q", arg)
		}
		hi, _ := strconv.Atoi(f[4])
		lo, _ := strconv.Atoi(f[5])
		return net.JoinHostPort(strings.Join(f[:4], "."), strconv.Itoa(hi<<8|lo))
	}
	t.Fatalf("got %q, want EPRT or PORT", cmd)
	return ""
}

func TestActiveFallsBackToPORT(t *testing.T) {
	t.Parallel()
	payload := []byte("data over PORT")
	addr := scriptServer(t, func(s *scripted) {
		for i := 0; i < 2; i++ {
			cmd := s.read()
			if i == 0 {
				if !strings.HasPrefix(cmd, "EPRT ") {
					t.Errorf("first announcement %q, want EPRT", cmd)
				}
				s.send("500 EPRT not understood")
				cmd = s.read()
			}
			if !strings.HasPrefix(cmd, "PORT ") {
				t.Errorf("transfer %d: %q, want PORT (EPRT was refused once)", i, cmd)
			}
			dst := portAddr(t, cmd)
			s.send("200 PORT ok")
			s.serve("RETR /f", "150 connecting")
			d, err := net.Dial("tcp", dst)
			if err != nil {
				t.Errorf("connecting to %s: %v", dst, err)
				return
			}
			d.Write(payload)
			d.Close()
			s.send("226 done")
		}
		s.serve("QUIT", "221 bye")
	})
	c, err := control.Dial(t.Context(), addr, control.Config{Active: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if got := retrAll(t, c, "/f"); !bytes.Equal(got, payload) {
			t.Fatalf("transfer %d: got %q", i, got)
		}
	}
	c.Quit(t.Context())
}

// TestActiveRefusesForeignPeer: a connection to our data port from an
// address other than the server's is closed without a byte, and the
// server's own connection is the one used.
func TestActiveRefusesForeignPeer(t *testing.T) {
	t.Parallel()
	foreignRead := make(chan error, 1)
	addr := scriptServer(t, func(s *scripted) {
		dst := portAddr(t, s.read())
		s.send("200 EPRT ok")
		s.serve("RETR /f", "150 connecting")
		// 127.0.0.2 is loopback too, but not the control connection's peer.
		foreign := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
		f, err := foreign.Dial("tcp", dst)
		switch {
		case errors.Is(err, syscall.ECONNRESET):
			// The client accepted and reset the connection before the
			// dial itself returned: that is the refusal this test wants.
			foreignRead <- err
		case err != nil:
			t.Errorf("foreign dial: %v", err)
			return
		default:
			f.Write([]byte("INJECTED"))
			f.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = f.Read(make([]byte, 1))
			foreignRead <- err
			f.Close()
		}
		d, err := net.Dial("tcp", dst)
		if err != nil {
			t.Errorf("server dial: %v", err)
			return
		}
		d.Write([]byte("genuine"))
		d.Close()
		s.send("226 done")
		s.serve("QUIT", "221 bye")
	})
	c, err := control.Dial(t.Context(), addr, control.Config{Active: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := retrAll(t, c, "/f"); string(got) != "genuine" {
		t.Fatalf("data %q, want only the server's", got)
	}
	err = <-foreignRead
	if err == nil || isNetTimeout(err) {
		t.Errorf("the foreign connection was not closed: read gave %v", err)
	}
	c.Quit(t.Context())
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestActiveServerCannotConnect: a 425 after the 150 ends the wait at
// once, and the connection stays usable.
func TestActiveServerCannotConnect(t *testing.T) {
	t.Parallel()
	addr := scriptServer(t, func(s *scripted) {
		portAddr(t, s.read())
		s.send("200 EPRT ok")
		s.serve("RETR /f", "150 connecting", "425 Can't open data connection")
		s.serve("NOOP", "200 ok")
		s.serve("QUIT", "221 bye")
	})
	c, err := control.Dial(t.Context(), addr, control.Config{Active: true, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StartTransfer(t.Context(), "RETR", "/f", 0)
	if !control.IsCode(err, 425) {
		t.Fatalf("err = %v, want the 425", err)
	}
	if err := c.Noop(t.Context()); err != nil {
		t.Fatalf("the connection is not usable after the 425: %v", err)
	}
	c.Quit(t.Context())
}

// TestActiveServerNeverConnects: a server that says 150 and neither
// connects nor answers is given up after the timeout.
func TestActiveServerNeverConnects(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	addr := scriptServer(t, func(s *scripted) {
		portAddr(t, s.read())
		s.send("200 EPRT ok")
		s.serve("RETR /f", "150 connecting")
		<-release
	})
	defer close(release)
	c, err := control.Dial(t.Context(), addr, control.Config{Active: true, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StartTransfer(t.Context(), "RETR", "/f", 0)
	if !errors.Is(err, control.ErrPeerDown) {
		t.Fatalf("err = %v, want ErrPeerDown", err)
	}
	if c.Err() == nil {
		t.Error("the connection is still open, with the server waiting on a data port we abandoned")
	}
}
