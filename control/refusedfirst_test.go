package control

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TestRefusalReadBeforeTheLoginIsWritten: a server at its connection
// limit (vsftpd max_per_ip, pure-ftpd -C, proftpd MaxClientsPerHost)
// greets with 421 and closes at once. The login is written ahead of the
// greeting, but on a loaded machine the reader can take the 421 and the
// close before Dial writes it: the write then finds the socket closed.
// The session was refused, not lost: Dial must say so, with the server's
// 421 (the pool tells a connection limit, or a busy server, from a lost
// connection by it). Here the writer is held until the reader has closed
// the socket, the order a loaded client saw (TestConnLimitBusyIsNotTheLimit
// failed 4 of 50 under load, the pool's refused dial seen as "login:
// control connection lost: closed by the server"). With LazyLogin the
// login goes with the first command: its write fails the same way.
func TestRefusalReadBeforeTheLoginIsWritten(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "421 Too many connections (3) from this IP\r\n")
			c.Close()
		}
	}()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &lateWriter{Conn: c, closed: make(chan struct{})}, nil
	}
	for _, lazy := range []bool{false, true} {
		c, err := Dial(t.Context(), ln.Addr().String(), Config{Timeout: 5 * time.Second, DialContext: dial, LazyLogin: lazy})
		if err == nil {
			_, err = c.Size(t.Context(), "/f")
			c.Close()
		}
		re, refused := SessionRefused(err)
		if !refused || re.Code != 421 || !errors.Is(err, ErrUnavailable) {
			t.Errorf("lazy %v: err = %v, want the server's 421 as a session refusal", lazy, err)
		}
	}
}

// lateWriter is a connection whose writes wait until it was closed: the
// reader took the server's close before the first write went out.
type lateWriter struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *lateWriter) Write(b []byte) (int, error) {
	<-c.closed
	return c.Conn.Write(b)
}

func (c *lateWriter) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
