package testserver

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawClient is a minimal FTP client over net/textproto, independent of
// the code under test, so tests can see exactly which replies come back
// and in which order.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	tp   *textproto.Conn
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c := &rawClient{t: t, conn: conn, tp: textproto.NewConn(conn)}
	t.Cleanup(func() { conn.Close() })
	c.expect(220)
	return c
}

// read returns the next reply, failing the test if none comes within 5 s.
func (c *rawClient) read() (int, string) {
	c.t.Helper()
	code, msg, err := c.readTimeout(5 * time.Second)
	if err != nil {
		c.t.Fatalf("reading reply: %v", err)
	}
	return code, msg
}

func (c *rawClient) readTimeout(d time.Duration) (int, string, error) {
	c.conn.SetReadDeadline(time.Now().Add(d))
	defer c.conn.SetReadDeadline(time.Time{})
	code, msg, err := c.tp.ReadResponse(0)
	var perr *textproto.Error
	if err != nil && !asProtoErr(err, &perr) {
		return 0, "", err
	}
	return code, msg, nil
}

func asProtoErr(err error, target **textproto.Error) bool {
	e, ok := err.(*textproto.Error)
	if ok {
		*target = e
	}
	return ok
}

func (c *rawClient) send(format string, args ...any) {
	c.t.Helper()
	if err := c.tp.PrintfLine(format, args...); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *rawClient) expect(want int) string {
	c.t.Helper()
	code, msg := c.read()
	if code != want {
		c.t.Fatalf("got %d %q, want %d", code, msg, want)
	}
	return msg
}

func (c *rawClient) cmd(want int, format string, args ...any) string {
	c.t.Helper()
	c.send(format, args...)
	return c.expect(want)
}

func (c *rawClient) login() {
	c.t.Helper()
	c.cmd(331, "USER anonymous")
	c.cmd(230, "PASS x")
	c.cmd(200, "TYPE I")
}

// epsv opens a data connection with EPSV.
func (c *rawClient) epsv() net.Conn {
	c.t.Helper()
	msg := c.cmd(229, "EPSV")
	port, _, _, ok := parse229("229 " + msg)
	if !ok {
		c.t.Fatalf("bad EPSV reply %q", msg)
	}
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	return c.dialData(net.JoinHostPort(host, strconv.Itoa(port)))
}

// pasv opens a data connection with PASV, trusting the address in the reply.
func (c *rawClient) pasv() net.Conn {
	c.t.Helper()
	msg := c.cmd(227, "PASV")
	ip, port, _, _, ok := parse227("227 " + msg)
	if !ok {
		c.t.Fatalf("bad PASV reply %q", msg)
	}
	return c.dialData(net.JoinHostPort(ip, strconv.Itoa(port)))
}

func (c *rawClient) dialData(addr string) net.Conn {
	c.t.Helper()
	d, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		c.t.Fatalf("data dial %s: %v", addr, err)
	}
	c.t.Cleanup(func() { d.Close() })
	return d
}

// readAll reads a data connection to its end, returning what arrived and
// the error that ended it (nil for a clean EOF).
func readAll(c net.Conn) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b bytes.Buffer
	_, err := io.Copy(&b, c)
	return b.Bytes(), err
}

// progressReader reads a data connection in the background and closes
// started once the first bytes are in, so a test can act mid-transfer.
type progressReader struct {
	started chan struct{}
	done    chan struct{}
	data    []byte
	err     error
}

func readInBackground(c net.Conn) *progressReader {
	p := &progressReader{started: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		first := true
		for {
			n, err := c.Read(buf)
			p.data = append(p.data, buf[:n]...)
			if n > 0 && first {
				first = false
				close(p.started)
			}
			if err != nil {
				if err != io.EOF {
					p.err = err
				}
				if first {
					close(p.started)
				}
				return
			}
		}
	}()
	return p
}

func (p *progressReader) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("data transfer did not end")
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustWrite(t *testing.T, s *Server, name string, data []byte) {
	t.Helper()
	if err := s.WriteFile(name, data); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
}

func isResetOrEOF(err error) bool {
	return err == nil || err == io.EOF || strings.Contains(err.Error(), "reset") ||
		strings.Contains(err.Error(), "broken pipe")
}
