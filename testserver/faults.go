package testserver

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"

	"golang.org/x/time/rate"
)

// Faults are the transfer faults the server injects.
//
// They act on the data connection itself, not on the file: the passive
// listener is wrapped (ftpserverlib's MainDriverExtensionPassiveWrapper),
// each accepted connection is tied to the control session that announced
// its port in a 227/229 reply (the shim sees those replies), and the kind
// of transfer (download, upload, listing) is the last transfer command the
// shim forwarded on that session. So a cut is a real TCP reset the client
// sees on its data socket, and BytesSent counts what was really written.
//
// Faults do not apply to sessions under TLS (Options.TLS): their 227/229
// replies are encrypted, so the shim cannot tie their data connections to
// them, and those connections pass through untouched.
type Faults struct {
	// RateLimit limits each download's data to this many bytes/s; 0 means
	// unlimited. Each transfer gets its own limiter.
	RateLimit int64
	// RateLimits is a queue like CutAfter: the k-th download started
	// after SetFaults gets RateLimits[k] bytes/s instead of RateLimit (0:
	// RateLimit). One slow connection among fast ones.
	RateLimits []int64
	// CutAfter is a queue: the k-th download started after SetFaults takes
	// CutAfter[k]; when it has sent that many bytes, its data connection
	// is reset (SO_LINGER 0 then close, so the client reads ECONNRESET,
	// possibly losing data still buffered in its kernel), and the final
	// reply on the control connection is "426". Each entry is used by one
	// download, cut or not (a shorter file just completes).
	CutAfter []int64
	// UploadCutAfter is the same for uploads (STOR/APPE/STOU): after that
	// many bytes received the data connection is reset; the server keeps
	// exactly those bytes in the file and replies "426".
	UploadCutAfter []int64
	// StallAfter > 0: every download stops sending after that many bytes
	// and holds the data connection open, silent, until the client closes
	// it (final reply then "426") or the server is closed.
	StallAfter int64
	// IgnoreREST: REST is accepted with 350 but downloads start at 0.
	IgnoreREST bool
}

func (f Faults) clone() Faults {
	f.CutAfter = slices.Clone(f.CutAfter)
	f.RateLimits = slices.Clone(f.RateLimits)
	f.UploadCutAfter = slices.Clone(f.UploadCutAfter)
	return f
}

type transferKind int

const (
	kindOther transferKind = iota // LIST, NLST, MLSD, or unknown
	kindDownload
	kindUpload
)

var (
	errCut     = errors.New("testserver: data connection cut (injected fault)")
	errStalled = errors.New("testserver: stalled data connection closed")
)

// dataListener wraps ftpserverlib's passive listener so that every data
// connection goes through dataConn.
type dataListener struct {
	net.Listener
	s *Server
}

func (l *dataListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	d := newDataConn(l.s, c)
	if d == nil {
		c.Close()
		return nil, net.ErrClosed
	}
	return d, nil
}

// dataConn is one data connection as ftpserverlib sees it. Faults are
// applied in Write (downloads) and Read (uploads).
type dataConn struct {
	net.Conn
	s      *Server
	sess   *shimSession // nil if the port was not announced through the shim
	ctx    context.Context
	cancel context.CancelFunc

	bindOnce sync.Once
	kind     transferKind
	limiter  *rate.Limiter
	burst    int
	cutAt    int64 // -1: no cut
	stallAt  int64 // 0: no stall
	n        int64 // bytes of this transfer so far
	peerGone chan struct{}

	closeOnce sync.Once
}

func newDataConn(s *Server, c net.Conn) *dataConn {
	ctx, cancel := context.WithCancel(context.Background())
	d := &dataConn{Conn: c, s: s, ctx: ctx, cancel: cancel, cutAt: -1}
	port := 0
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		port = a.Port
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return nil
	}
	// An announcement serves one data connection (ftpserverlib accepts one
	// per PASV/EPSV): forgetting it keeps a later connection on the same
	// port, such as one of a TLS session whose replies the shim cannot
	// read, from being taken for this session's.
	d.sess = s.ports[port]
	delete(s.ports, port)
	s.dataConns[d] = struct{}{}
	s.mu.Unlock()
	if d.sess != nil {
		d.sess.setData(d)
	}
	return d
}

// bind decides, at the first read or write, what this transfer is and
// which faults it gets. By then ftpserverlib has received the transfer
// command, so the shim has already recorded it.
func (d *dataConn) bind() {
	d.bindOnce.Do(func() {
		if d.sess == nil {
			return
		}
		d.kind = d.sess.transferKind()
		s := d.s
		s.mu.Lock()
		switch d.kind {
		case kindDownload:
			r := s.faults.RateLimit
			if len(s.faults.RateLimits) > 0 {
				if q := s.faults.RateLimits[0]; q > 0 {
					r = q
				}
				s.faults.RateLimits = s.faults.RateLimits[1:]
			}
			if r > 0 {
				// Bursts of 1/20 s keep the rate smooth at small sizes so
				// that a test's transfer lasts as long as it computed.
				d.burst = int(min(max(r/20, 1), 32*1024))
				d.limiter = rate.NewLimiter(rate.Limit(r), d.burst)
			}
			if len(s.faults.CutAfter) > 0 {
				d.cutAt = s.faults.CutAfter[0]
				s.faults.CutAfter = s.faults.CutAfter[1:]
			}
			d.stallAt = s.faults.StallAfter
		case kindUpload:
			if len(s.faults.UploadCutAfter) > 0 {
				d.cutAt = s.faults.UploadCutAfter[0]
				s.faults.UploadCutAfter = s.faults.UploadCutAfter[1:]
			}
		}
		s.mu.Unlock()
		if d.stallAt > 0 {
			// A download never reads its data connection, so this is the
			// only way to learn that the client closed a stalled one.
			d.peerGone = make(chan struct{})
			go func() {
				defer close(d.peerGone)
				var b [512]byte
				for {
					if _, err := d.Conn.Read(b[:]); err != nil {
						return
					}
				}
			}()
		}
	})
}

func (d *dataConn) Write(p []byte) (int, error) {
	d.bind()
	if d.kind != kindDownload {
		n, err := d.Conn.Write(p)
		if err != nil {
			d.failed(false)
		}
		return n, err
	}
	written := 0
	for {
		if d.cutAt >= 0 && d.n >= d.cutAt {
			d.cut()
			return written, errCut
		}
		if d.stallAt > 0 && d.n >= d.stallAt {
			d.s.logf("data: stalling after %d bytes", d.n)
			select {
			case <-d.peerGone:
			case <-d.ctx.Done():
			}
			d.failed(false)
			return written, errStalled
		}
		if written == len(p) {
			return written, nil
		}
		chunk := p[written:]
		if d.cutAt >= 0 && int64(len(chunk)) > d.cutAt-d.n {
			chunk = chunk[:d.cutAt-d.n]
		}
		if d.stallAt > 0 && int64(len(chunk)) > d.stallAt-d.n {
			chunk = chunk[:d.stallAt-d.n]
		}
		if d.limiter != nil {
			if len(chunk) > d.burst {
				chunk = chunk[:d.burst]
			}
			if err := d.limiter.WaitN(d.ctx, len(chunk)); err != nil {
				d.failed(false)
				return written, net.ErrClosed
			}
		}
		n, err := d.Conn.Write(chunk)
		d.n += int64(n)
		written += n
		if n > 0 {
			d.s.stats.update(func(st *Stats) { st.BytesSent += int64(n) })
		}
		if err != nil {
			d.failed(false)
			return written, err
		}
	}
}

func (d *dataConn) Read(p []byte) (int, error) {
	d.bind()
	if d.kind != kindUpload {
		return d.Conn.Read(p)
	}
	if d.cutAt >= 0 {
		if d.n >= d.cutAt {
			d.cut()
			return 0, errCut
		}
		if int64(len(p)) > d.cutAt-d.n {
			p = p[:d.cutAt-d.n]
		}
	}
	n, err := d.Conn.Read(p)
	d.n += int64(n)
	if n > 0 {
		d.s.stats.update(func(st *Stats) { st.BytesReceived += int64(n) })
	}
	return n, err
}

// cut resets the connection: with SO_LINGER 0, close sends RST instead of
// FIN, which is what a crashed peer or a NAT reboot looks like.
func (d *dataConn) cut() {
	d.s.logf("data: cutting %v after %d bytes", d.kind, d.n)
	d.failed(true)
	d.reset()
}

func (d *dataConn) reset() {
	if tc, ok := d.Conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	d.Close()
}

// failed records on the session that this transfer's data connection
// failed, so that the shim turns ftpserverlib's "550 Issue during
// transfer" into the "426" real servers send.
func (d *dataConn) failed(cut bool) {
	if d.sess != nil {
		d.sess.dataFailed(d, cut)
	}
}

func (d *dataConn) Close() error {
	var err error
	d.closeOnce.Do(func() {
		d.cancel()
		err = d.Conn.Close()
		d.s.mu.Lock()
		delete(d.s.dataConns, d)
		d.s.mu.Unlock()
	})
	return err
}
