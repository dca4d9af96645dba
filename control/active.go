package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Active mode (Config.Active): the server connects to us. We listen on the
// control connection's local address, announce it with EPRT (RFC 2428),
// or PORT (RFC 959) when the server refuses EPRT, and accept one
// connection, only from the control connection's peer: anyone else who
// finds the port is closed at once, because a data connection from a
// third party would let it feed us a file or read our upload. Under TLS we
// are still the client side of the data connection's handshake (RFC 4217).

// activeData is an announced data port awaiting the server's connection.
type activeData struct {
	c  *Conn
	ln *net.TCPListener
}

// openActive listens and announces the port. Called with the command slot
// held.
func (c *Conn) openActive(ctx context.Context) (*activeData, error) {
	local, ok := c.nc.LocalAddr().(*net.TCPAddr)
	if !ok || local.IP == nil {
		return nil, fmt.Errorf("active mode: the control connection has no TCP address (%v)", c.nc.LocalAddr())
	}
	// TCP keepalive is set on the accepted socket by the ListenConfig,
	// TCP_USER_TIMEOUT in accept: the same liveness as a dialled one.
	lc := net.ListenConfig{KeepAliveConfig: keepAliveFor(c.timeout)}
	l, err := lc.Listen(ctx, "tcp", net.JoinHostPort(local.IP.String(), "0"))
	if err != nil {
		return nil, fmt.Errorf("active mode: listen: %w", err)
	}
	a := &activeData{c: c, ln: l.(*net.TCPListener)}
	if err := c.announce(ctx, a.ln.Addr().(*net.TCPAddr)); err != nil {
		a.ln.Close()
		return nil, err
	}
	return a, nil
}

// announce tells the server where to connect: EPRT, and PORT after a
// permanent refusal of EPRT (remembered for the connection's life). PORT
// can carry only IPv4.
func (c *Conn) announce(ctx context.Context, addr *net.TCPAddr) error {
	ip4 := addr.IP.To4()
	if !c.noEPRT.Load() || ip4 == nil {
		_, err := c.cmdLocked(ctx, 200, fixedCmd("EPRT", eprtArg(addr)))
		if err == nil || ip4 == nil || !IsPermanent(err) {
			return err
		}
		c.noEPRT.Store(true)
		c.logf("EPRT refused (%v); using PORT", err)
	}
	_, err := c.cmdLocked(ctx, 200, fixedCmd("PORT", portArg(ip4, addr.Port)))
	return err
}

// eprtArg is EPRT's argument: "|1|h.h.h.h|port|" or "|2|ipv6|port|".
func eprtArg(addr *net.TCPAddr) string {
	proto, host := "2", addr.IP.String()
	if ip4 := addr.IP.To4(); ip4 != nil {
		proto, host = "1", ip4.String()
	}
	return "|" + proto + "|" + host + "|" + strconv.Itoa(addr.Port) + "|"
}

// portArg is PORT's argument: "h1,h2,h3,h4,p1,p2".
func portArg(ip4 net.IP, port int) string {
	var b strings.Builder
	for _, o := range ip4 {
		b.WriteString(strconv.Itoa(int(o)))
		b.WriteByte(',')
	}
	b.WriteString(strconv.Itoa(port >> 8))
	b.WriteByte(',')
	b.WriteString(strconv.Itoa(port & 0xff))
	return b.String()
}

func (a *activeData) close() { a.ln.Close() }

// errForeignPeer is what a connection from an unexpected address got.
var errForeignPeer = errors.New("data connection from a foreign address refused")

// accept waits for the server's data connection after the transfer
// command's preliminary reply: at most one timeout, less if the transfer
// ends first with a failure (425: the server could not connect) or the
// control connection is lost. A successful final reply that overtakes the
// connection (a small file) is put back for the transfer to read.
func (a *activeData) accept(ctx context.Context, t *Transfer) (net.Conn, error) {
	c := a.c
	a.ln.SetDeadline(time.Now().Add(c.timeout))
	type result struct {
		nc  net.Conn
		err error
	}
	got := make(chan result, 1)
	go func() {
		for {
			nc, err := a.ln.Accept()
			if err != nil {
				got <- result{err: err}
				return
			}
			if ra, ok := nc.RemoteAddr().(*net.TCPAddr); ok && ra.IP.Equal(c.peer) {
				if rc, err := nc.(*net.TCPConn).SyscallConn(); err == nil {
					setUserTimeout(rc, c.timeout)
				}
				got <- result{nc: nc}
				return
			}
			c.logf("%v: %v (the server is %v)", errForeignPeer, nc.RemoteAddr(), c.peer)
			if tc, ok := nc.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset: nothing of ours reaches it
			}
			nc.Close()
		}
	}()
	// stop ends the accept and closes a connection it may have taken.
	stop := func() {
		a.ln.Close()
		if r := <-got; r.nc != nil {
			r.nc.Close()
		}
	}
	final := t.final
	for {
		select {
		case r := <-got:
			if r.err != nil {
				// The server may still connect, or answer, later: the
				// connection cannot be trusted any more.
				if isTimeout(r.err) {
					c.closeWith(ErrPeerDown)
					return nil, fmt.Errorf("%s: the server did not connect to our data port within %v: %w", t.cmd, c.timeout, ErrPeerDown)
				}
				c.closeWith(ErrClosed)
				return nil, fmt.Errorf("%s: data connection: %w", t.cmd, r.err)
			}
			return r.nc, nil
		case rep := <-final:
			if rep.OK() {
				t.final <- rep // the data is in the backlog; take it first
				final = nil
				continue
			}
			stop()
			t.mu.Lock()
			t.ended = true
			t.mu.Unlock()
			return nil, rep.err(t.cmd)
		case <-t.gone:
			stop()
			return nil, fmt.Errorf("%s: %w", t.cmd, c.Err())
		case <-ctx.Done():
			stop()
			c.closeWith(ErrClosed)
			return nil, fmt.Errorf("%s: %w", t.cmd, ctx.Err())
		}
	}
}
