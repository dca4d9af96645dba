package ftptest

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Net is a network in memory whose every path has the same round-trip
// time, for tests that count round trips in virtual time
// (testing/synctest): the time a client takes over it, divided by the
// RTT, is the number of round trips it made, exactly, since nothing else
// takes virtual time. It follows TCP where that costs time: a dial
// returns after one RTT (SYN, SYN-ACK), the listener gets the connection
// half an RTT later (with the ACK), and every byte takes half an RTT each
// way. A close reaches the other side half an RTT later, after the bytes
// before it. Its listeners have addresses 127.0.0.1:port.
//
// A Net is made and used inside the bubble. It is shut when the test
// ends: every connection over it is cut at once, so that no goroutine of
// it outlives the bubble.
type Net struct {
	RTT time.Duration
	// FreeConnect makes a dial cost nothing: it returns at once and the
	// listener gets the connection at once, while bytes still take half
	// an RTT each way. That is the bench's middlebox (bench/cmd/middlebox),
	// which accepts next to the client and connects next to the server.
	// Set it before the first Dial.
	FreeConnect bool

	mu   sync.Mutex
	port int
	ls   map[int]*vListener
	shut chan struct{}
}

// NewNet returns a Net with the given round-trip time, shut when t ends.
func NewNet(t testing.TB, rtt time.Duration) *Net {
	n := &Net{RTT: rtt, port: 20000, ls: map[int]*vListener{}, shut: make(chan struct{})}
	t.Cleanup(func() { close(n.shut) })
	return n
}

// Listen returns a listener on a new port of 127.0.0.1.
func (n *Net) Listen() net.Listener {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.port++
	l := &vListener{n: n, port: n.port, conns: make(chan net.Conn, 16), closed: make(chan struct{})}
	n.ls[l.port] = l
	return l
}

// Dial connects to a listener of the Net: network must be tcp, addr
// 127.0.0.1:port. It takes one RTT, or until ctx ends; a port nobody
// listens on is refused after that RTT.
func (n *Net) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	refused := &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		return nil, refused
	}
	var p int
	fmt.Sscan(port, &p)
	connect, half := n.RTT, n.RTT/2
	if n.FreeConnect {
		connect, half = 0, 0
	}
	timer := time.NewTimer(connect)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	n.mu.Lock()
	l := n.ls[p]
	n.port++
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: n.port}
	n.mu.Unlock()
	if l == nil || l.isClosed() {
		return nil, refused
	}
	client, relayA := net.Pipe()
	relayB, server := net.Pipe()
	go relay(relayA, relayB, n.RTT/2, n.shut)
	go relay(relayB, relayA, n.RTT/2, n.shut)
	go l.arrive(&vConn{Conn: server, local: l.Addr(), remote: local}, half)
	return &vConn{Conn: client, local: local, remote: l.Addr()}, nil
}

// vConn is one end of a connection, with TCP addresses.
type vConn struct {
	net.Conn
	local, remote net.Addr
}

func (c *vConn) LocalAddr() net.Addr  { return c.local }
func (c *vConn) RemoteAddr() net.Addr { return c.remote }

// relay copies what src reads to dst, each chunk delay after it was read,
// in order; src's end (or error) closes dst, delay later, after the
// bytes before it. When the Net is shut, both close at once.
func relay(src, dst net.Conn, delay time.Duration, shut <-chan struct{}) {
	type chunk struct {
		due time.Time
		b   []byte // nil: the end
	}
	defer src.Close() // a reader still blocked on src ends
	defer dst.Close()
	q := make(chan chunk, 1024)
	go func() {
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case q <- chunk{time.Now().Add(delay), buf[:n]}:
				case <-shut:
					return
				}
			}
			if err != nil {
				select {
				case q <- chunk{due: time.Now().Add(delay)}:
				case <-shut:
				}
				return
			}
		}
	}()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	broken := false
	for {
		var c chunk
		select {
		case c = <-q:
		case <-shut:
			return
		}
		timer.Reset(time.Until(c.due))
		select {
		case <-timer.C:
		case <-shut:
			return
		}
		if c.b == nil {
			return
		}
		if !broken {
			if _, err := dst.Write(c.b); err != nil {
				broken = true // the other side is gone: drop the rest, read on to the end
				src.Close()
			}
		}
	}
}

// vListener is a listener of a Net.
type vListener struct {
	n      *Net
	port   int
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	deadline time.Time
}

func (l *vListener) arrive(c net.Conn, after time.Duration) {
	timer := time.NewTimer(after)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-l.n.shut:
		c.Close()
		return
	}
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	case <-l.n.shut:
		c.Close()
	}
}

func (l *vListener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// errAcceptTimeout is Accept's error after a deadline.
var errAcceptTimeout = &net.OpError{Op: "accept", Net: "tcp", Err: os.ErrDeadlineExceeded}

func (l *vListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	d := l.deadline
	l.mu.Unlock()
	var timeout <-chan time.Time
	if !d.IsZero() {
		t := time.NewTimer(time.Until(d))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-timeout:
		return nil, errAcceptTimeout
	}
}

// SetDeadline bounds later Accepts.
func (l *vListener) SetDeadline(t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deadline = t
	return nil
}

func (l *vListener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.n.mu.Lock()
		delete(l.n.ls, l.port)
		l.n.mu.Unlock()
		for { // connections that arrived and were never accepted
			select {
			case c := <-l.conns:
				c.Close()
			default:
				return
			}
		}
	})
	return nil
}

func (l *vListener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: l.port}
}
