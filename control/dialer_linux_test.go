package control

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The socket options derive from the liveness timeout: TCP_USER_TIMEOUT
// equal to it, keepalive probes starting at half of it.
func TestDialerSocketOptions(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			c.Read(make([]byte, 1))
		}
	}()
	const timeout = 20 * time.Second
	c, err := newDialer(timeout).DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	get := func(level, opt int) int {
		var v int
		var gerr error
		raw.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, opt) })
		if gerr != nil {
			t.Fatal(gerr)
		}
		return v
	}
	if got := get(unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT); got != int(timeout/time.Millisecond) {
		t.Errorf("TCP_USER_TIMEOUT = %d ms, want %d", got, timeout/time.Millisecond)
	}
	if got := get(unix.SOL_SOCKET, unix.SO_KEEPALIVE); got != 1 {
		t.Errorf("SO_KEEPALIVE = %d", got)
	}
	if got := get(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE); got != 10 {
		t.Errorf("TCP_KEEPIDLE = %d s, want 10 (half the timeout)", got)
	}
	if got := get(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL); got != 2 {
		t.Errorf("TCP_KEEPINTVL = %d s, want 2", got)
	}
	if got := get(unix.IPPROTO_TCP, unix.TCP_KEEPCNT); got != 4 {
		t.Errorf("TCP_KEEPCNT = %d, want 4", got)
	}
}
