package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// A data port forwarded as -data-ports does it (the middlebox's control
// host to the same port of the target's host: here 127.0.0.1 to ::1, the
// server's passive port): what the client sends reaches the server
// whole, with its end (a half-close), at least the delay later; the
// server's answer comes back whole, at least a round trip of delays
// after the client began. Once the server's port is closed, a
// connection to the forwarded port is closed too.
func TestForwardedDataPort(t *testing.T) {
	t.Parallel()
	const delay = 50 * time.Millisecond
	srv, ls := forwardOnePort(t, delay)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	port := srv.Addr().(*net.TCPAddr).Port
	up := ftptest.RandomBytes(1 << 20)
	down := ftptest.RandomBytes(300 << 10)

	type arrival struct {
		first time.Time // the first byte
		data  []byte
		err   error
	}
	got := make(chan arrival, 1)
	go func() {
		c, err := srv.Accept()
		if err != nil {
			got <- arrival{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var a arrival
		b := make([]byte, 1)
		if _, a.err = io.ReadFull(c, b); a.err == nil {
			a.first = time.Now()
			var rest []byte
			rest, a.err = io.ReadAll(c) // to the client's half-close
			a.data = append(b, rest...)
		}
		if a.err == nil {
			_, a.err = c.Write(down)
		}
		got <- a
	}()

	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := c.Write(up); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(c) // to the server's close, forwarded
	if err != nil {
		t.Fatalf("reading the server's answer: %v", err)
	}
	took := time.Since(start)
	a := <-got
	if a.err != nil {
		t.Fatalf("server: %v", a.err)
	}
	if !bytes.Equal(a.data, up) {
		t.Errorf("the server got %d bytes, not the %d the client sent", len(a.data), len(up))
	}
	if !bytes.Equal(back, down) {
		t.Errorf("the client got %d bytes, not the %d the server sent", len(back), len(down))
	}
	if d := a.first.Sub(start); d < delay {
		t.Errorf("the first byte reached the server %v after it was sent, want at least the delay %v", d, delay)
	}
	if took < 2*delay {
		t.Errorf("the answer came %v after the client began, want at least two delays (%v)", took, 2*delay)
	}

	srv.Close()
	c2, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := c2.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("a connection to a forwarded port whose server is gone: read %d, %v; want it closed", n, err)
	}
}

// forwardOnePort listens as an FTPS server's passive port would, on ::1,
// and forwards its port from the host of a middlebox's control address
// (127.0.0.1), as main does with -data-ports. A port free on ::1 may be
// taken on 127.0.0.1: then another is tried.
func forwardOnePort(t *testing.T, delay time.Duration) (net.Listener, []net.Listener) {
	t.Helper()
	for range 20 {
		srv, err := net.Listen("tcp", "[::1]:0")
		if err != nil {
			t.Fatal(err)
		}
		m, err := testserver.NewMiddlebox(testserver.MiddleboxOptions{Target: srv.Addr().String(), Listen: "127.0.0.1:0", Delay: delay})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		port := srv.Addr().(*net.TCPAddr).Port
		ls, err := forwardRange(m.Addr(), srv.Addr().String(), port, port, delay)
		if err == nil {
			if len(ls) != 1 || ls[0].Addr().String() != net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) {
				t.Fatalf("forwardRange listens on %v, want 127.0.0.1:%d", ls, port)
			}
			return srv, ls
		}
		srv.Close()
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatal(err)
		}
	}
	t.Fatal("no port free on both ::1 and 127.0.0.1")
	return nil, nil
}
