package ftptest

import (
	"context"
	"net"
	"os"
	"sync"
	"syscall"
)

// DataFaults is a dialer (for control.Config.DialContext) that injects
// faults into data connections on the client's side of the socket. A
// middlebox cannot tell an FTPS data connection from the server's other
// connections, nor read its control connection; this can. Connections to
// Control pass untouched; every other connection is a data connection:
// its bytes are counted (both directions, as they cross the socket: TLS
// records under FTPS), the k-th is reset once CutAfter[k] bytes crossed
// it, and Trigger runs once, when one data connection has read
// TriggerAfter bytes.
type DataFaults struct {
	Control      string  // the control connection's address: dialled as is
	CutAfter     []int64 // a queue: one entry per data connection, <0 for no cut
	TriggerAfter int64   // bytes read on one data connection that run Trigger
	Trigger      func()

	mu        sync.Mutex
	bytes     int64
	conns     int
	cuts      int
	triggered bool
}

// DialContext dials addr and wraps data connections.
func (d *DataFaults) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, network, addr)
	if err != nil || addr == d.Control {
		return c, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conns++
	fc := &faultConn{Conn: c, d: d, cutAt: -1}
	if len(d.CutAfter) > 0 {
		fc.cutAt = d.CutAfter[0]
		d.CutAfter = d.CutAfter[1:]
	}
	return fc, nil
}

// Bytes is the data bytes that crossed the data connections.
func (d *DataFaults) Bytes() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bytes
}

// Conns is how many data connections were dialled; Cuts how many were cut.
func (d *DataFaults) Conns() (conns, cuts int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conns, d.cuts
}

// faultConn is one data connection.
type faultConn struct {
	net.Conn
	d *DataFaults

	mu    sync.Mutex
	moved int64 // both ways
	read  int64
	cutAt int64 // -1: none
	cut   bool
}

// errReset is what a cut connection reports: a reset, as from the network.
var errReset = os.NewSyscallError("read", syscall.ECONNRESET)

// budget returns how many of n bytes may cross before the cut.
func (c *faultConn) budget(n int) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return 0, true
	}
	if c.cutAt < 0 || c.moved+int64(n) < c.cutAt {
		return n, false
	}
	return int(c.cutAt - c.moved), true
}

func (c *faultConn) account(n int, read bool) {
	c.mu.Lock()
	c.moved += int64(n)
	if read {
		c.read += int64(n)
	}
	total := c.read
	c.mu.Unlock()
	d := c.d
	d.mu.Lock()
	d.bytes += int64(n)
	fire := read && d.Trigger != nil && !d.triggered && d.TriggerAfter > 0 && total >= d.TriggerAfter
	if fire {
		d.triggered = true
	}
	d.mu.Unlock()
	if fire {
		d.Trigger()
	}
}

// reset cuts the connection: RST to the server, an error to the client.
func (c *faultConn) reset() {
	c.mu.Lock()
	first := !c.cut
	c.cut = true
	c.mu.Unlock()
	if first {
		c.d.mu.Lock()
		c.d.cuts++
		c.d.mu.Unlock()
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Conn.Close()
	}
}

func (c *faultConn) Read(p []byte) (int, error) {
	allowed, cut := c.budget(len(p))
	if cut && allowed == 0 {
		c.reset()
		return 0, &net.OpError{Op: "read", Net: "tcp", Addr: c.RemoteAddr(), Err: errReset}
	}
	n, err := c.Conn.Read(p[:allowed])
	c.account(n, true)
	return n, err
}

func (c *faultConn) Write(p []byte) (int, error) {
	allowed, cut := c.budget(len(p))
	n, err := c.Conn.Write(p[:allowed])
	c.account(n, false)
	if err == nil && cut {
		c.reset()
		return n, &net.OpError{Op: "write", Net: "tcp", Addr: c.RemoteAddr(), Err: errReset}
	}
	return n, err
}
