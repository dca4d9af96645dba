package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// bufSize is the copy buffer of the non-zero-copy path.
const bufSize = 256 << 10

// bufPool reuses copy buffers across attempts: no allocation per chunk,
// and none per attempt in steady state.
var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// Chunk bounds of the zero-copy path. A splice reports progress only when
// a chunk completes, so chunks adapt to keep each well inside the stall
// timeout: slow links get small chunks, fast ones big chunks (fewer
// wake-ups).
const (
	minChunk = 64 << 10
	maxChunk = 16 << 20
)

// pump moves the data of one attempt in its own goroutine and tells the
// multiplexer about progress without blocking: a counter plus a wake-up
// channel of capacity one, so a slow multiplexer coalesces notifications.
type pump struct {
	moved  atomic.Int64
	notify chan struct{}
	done   chan error

	// When data last moved, as time since start: the multiplexer wakes
	// for progress only now and then (progressEvery), and its stall
	// deadline and NOOP evidence want the time of the data itself.
	start time.Time
	last  atomic.Int64

	// bound, if set, is asked before each read how far the data may go;
	// base is the file offset of the data's first byte (moved counts from
	// there). ended says the bound ended the data: set before done is
	// sent, read after it is received.
	bound Bound
	base  int64
	ended bool

	lw     *lowWater     // nil unless the data connection offers it
	lwFast time.Duration // tests: the low-water window's time (0: lowWaterTime)
}

func newPump() *pump {
	return &pump{notify: make(chan struct{}, 1), done: make(chan error, 1), start: time.Now()}
}

func (p *pump) add(n int64) {
	p.last.Store(int64(time.Since(p.start)))
	p.moved.Add(n)
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// lastData is when data last moved; the pump's start if none did.
func (p *pump) lastData() time.Time { return p.start.Add(time.Duration(p.last.Load())) }

// run copies src to dst until src's end. download says which side is the
// network, to tell local failures (disk full) from network ones.
// limit, when not negative, is the most bytes to move: a byte beyond it is
// ErrTooLong, and is not written, unless stop says the data is meant to go
// on (a range): then the pump just ends at the limit.
func (p *pump) run(ctx context.Context, dst io.Writer, src io.Reader, lim *rate.Limiter, timeout time.Duration, download bool, limit int64, stop bool) {
	var err error
	if limit >= 0 {
		src = &io.LimitedReader{R: src, N: limit}
	}
	wb := newWriteBack(dst)
	if lr, ok := src.(*io.LimitedReader); download && lim == nil {
		r := src
		if ok {
			r = lr.R
		}
		if c, ok := r.(lowWaterConn); ok {
			p.lw = newLowWater(c, p.lwFast)
			defer p.lw.stop()
		}
	}
	if lim == nil && zeroCopy(dst, src) {
		err = p.chunked(dst, src, timeout, wb)
	} else {
		err = p.buffered(ctx, dst, src, lim, download, wb)
	}
	if err == nil && limit >= 0 && !p.ended {
		if lr := src.(*io.LimitedReader); stop && lr.N > 0 {
			err = fmt.Errorf("%w: the data ended %d bytes before the range's end", ErrShort, lr.N)
		} else if !stop {
			err = checkEnd(lr.R)
		}
	}
	p.done <- err
}

// checkEnd makes sure the data ends where it should: one more byte means
// the server sent more than the file (a REST it ignored).
func checkEnd(src io.Reader) error {
	var b [1]byte
	for {
		n, err := src.Read(b[:])
		if n > 0 {
			return ErrTooLong
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// zeroCopy reports whether io.Copy between dst and src takes Linux's
// zero-copy paths: splice from a TCP socket into a file, sendfile from a
// file into a TCP socket.
func zeroCopy(dst io.Writer, src io.Reader) bool {
	if lr, ok := src.(*io.LimitedReader); ok {
		src = lr.R // os.File.ReadFrom and TCPConn.ReadFrom see through it
	}
	_, fileDst := dst.(*os.File)
	_, tcpSrc := src.(*net.TCPConn)
	_, tcpDst := dst.(*net.TCPConn)
	_, fileSrc := src.(*os.File)
	return fileDst && tcpSrc || tcpDst && fileSrc
}

// chunked copies with io.CopyN, which keeps the zero-copy path: os.File's
// and TCPConn's ReadFrom see through one io.LimitedReader, not two, so a
// limit on src is applied here chunk by chunk instead of by nesting.
func (p *pump) chunked(dst io.Writer, src io.Reader, timeout time.Duration, wb *writeBack) error {
	lr, limited := src.(*io.LimitedReader)
	if limited {
		src = lr.R
	}
	chunk := int64(minChunk)
	for {
		n := chunk
		if limited {
			if lr.N <= 0 {
				return nil
			}
			n = min(n, lr.N)
		}
		if n = p.grant(n); n <= 0 {
			return nil
		}
		start := time.Now()
		got, err := io.CopyN(dst, src, n)
		if limited {
			lr.N -= got
		}
		if got > 0 {
			p.add(got)
			wb.add(got)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return classify(err)
		}
		switch took := time.Since(start); {
		case took < timeout/16 && chunk < maxChunk:
			chunk *= 2
		case took > timeout/4 && chunk > minChunk:
			chunk /= 2
		}
	}
}

func (p *pump) buffered(ctx context.Context, dst io.Writer, src io.Reader, lim *rate.Limiter, download bool, wb *writeBack) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	if lim != nil {
		buf = buf[:min(len(buf), lim.Burst())]
	}
	for {
		rb := buf
		if p.bound != nil {
			g := p.grant(int64(len(buf)))
			if g <= 0 {
				return nil
			}
			rb = buf[:g]
		}
		n, rerr := src.Read(rb)
		if n > 0 {
			if lim != nil {
				if err := lim.WaitN(ctx, n); err != nil {
					return err
				}
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				if download {
					return &LocalError{Err: err}
				}
				return err
			}
			left := int64(-1)
			if lr, ok := src.(*io.LimitedReader); ok {
				left = lr.N
			}
			p.lw.moved(n, left)
			p.add(int64(n))
			wb.add(int64(n))
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			if !download {
				return &LocalError{Err: rerr}
			}
			return rerr
		}
	}
}

// grant asks the bound, if any, how many of the next want bytes may be
// read; 0 ends the data there (ended).
func (p *pump) grant(want int64) int64 {
	if p.bound == nil {
		return want
	}
	g := min(p.bound.Grant(p.base+p.moved.Load(), want), want)
	if g <= 0 {
		p.ended = true
		return 0
	}
	return g
}

// lowWaterConn is a data connection whose reader can be woken only once
// many bytes are queued (control's TLS data connections, on Linux).
type lowWaterConn interface {
	SetReadLowWater(n int) error
}

// Low-water mark of a fast download: raised when a window of lowWaterWindow
// bytes came within lowWaterTime (10 MiB/s or more), so that the reader
// wakes once per many TLS records rather than per record. Each wake-up of
// a Go reader parks and unparks it, and wakes the runtime's sysmon thread
// into its 20 µs polling; the fewer wake-ups, the less CPU. The mark is
// what comes in lowWaterFill at the window's rate, between lowWaterMin and
// lowWaterMax: at the 400 MB/s of an FTPS download from vsftpd on
// loopback that is the 4 MiB maximum, which took the download's CPU time
// from 1.1x curl's to below it (bench/README.md), and a mark filled within
// a quarter of lowWaterIdle is not lowered by the idle timer while the
// data keeps coming at that rate. Lowered when no data came for
// lowWaterIdle, and for good in the last two marks of a known size.
const (
	lowWaterMin    = 128 << 10
	lowWaterMax    = 4 << 20
	lowWaterFill   = lowWaterIdle / 4
	lowWaterWindow = 1 << 20
	lowWaterTime   = 100 * time.Millisecond
	lowWaterIdle   = 50 * time.Millisecond
)

// lowWaterMark is the mark for data that came at window bytes in took.
func lowWaterMark(window int, took time.Duration) int {
	if took <= 0 {
		return lowWaterMax
	}
	m := int64(window) * int64(lowWaterFill) / int64(took)
	return int(min(max(m, lowWaterMin), lowWaterMax))
}

// lowWater raises a download's low-water mark while data comes fast, and
// lowers it when the data stops, so that bytes below the mark are never
// held back for long: at the data's end a server may wait for the client
// before it closes (TLS shutdown), and a slowed-down link must still show
// progress.
type lowWater struct {
	conn lowWaterConn
	fast time.Duration // lowWaterTime; tests lengthen it

	winStart time.Time // the pump's window
	winBytes int
	total    atomic.Int64 // bytes read

	mu      sync.Mutex
	mark    atomic.Int64 // the mark set, 0 while low; written under mu
	seen    int64        // total when the idle timer last looked
	idle    *time.Timer  // while high: looks for a lowWaterIdle without data
	stopped bool
}

func newLowWater(c lowWaterConn, fast time.Duration) *lowWater {
	if fast <= 0 {
		fast = lowWaterTime
	}
	return &lowWater{conn: c, fast: fast}
}

// moved notes n bytes read by the pump, left more expected (-1: unknown),
// and raises the mark when they came fast, further when they came faster.
// Near the end it lowers the mark for good: the last bytes must not wait
// for the idle timer.
func (l *lowWater) moved(n int, left int64) {
	if l == nil || l.conn == nil {
		return
	}
	l.total.Add(int64(n))
	if left >= 0 && left < 2*max(l.mark.Load(), lowWaterMin) {
		l.stop()
		l.conn = nil
		return
	}
	if l.winBytes += n; l.winBytes < lowWaterWindow {
		return
	}
	now := time.Now()
	took := now.Sub(l.winStart)
	fast := !l.winStart.IsZero() && took <= l.fast
	window := l.winBytes
	l.winStart, l.winBytes = now, 0
	if !fast {
		return
	}
	mark := lowWaterMark(window, took)
	if left >= 0 {
		mark = int(min(int64(mark), left/2))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || int64(mark) <= l.mark.Load() || mark < lowWaterMin {
		return
	}
	if l.conn.SetReadLowWater(mark) != nil {
		l.conn = nil // not offered: never again
		return
	}
	wasHigh := l.mark.Load() > 0
	l.mark.Store(int64(mark))
	if wasHigh {
		return // the idle timer runs
	}
	l.seen = l.total.Load()
	if l.idle == nil {
		l.idle = time.AfterFunc(lowWaterIdle, l.check)
	} else {
		l.idle.Reset(lowWaterIdle)
	}
}

// check runs lowWaterIdle after the mark went up, and again every
// lowWaterIdle while data comes; it lowers the mark when none came.
func (l *lowWater) check() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mark.Load() == 0 || l.stopped {
		return
	}
	if t := l.total.Load(); t != l.seen {
		l.seen = t
		l.idle.Reset(lowWaterIdle)
		return
	}
	l.conn.SetReadLowWater(1)
	l.mark.Store(0)
}

// stop lowers the mark if it is up, for good, and stops the idle timer.
func (l *lowWater) stop() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	if l.idle != nil {
		l.idle.Stop()
	}
	if l.mark.Load() > 0 {
		l.conn.SetReadLowWater(1)
		l.mark.Store(0)
	}
}

// classify attributes a zero-copy error. splice and sendfile report the
// socket's errors too, wrapped as the file's, so the errno decides: the
// network's errors are the transfer's; anything else (ENOSPC, EIO, EROFS,
// ...) is the local file's, and retrying will not help.
func classify(err error) error {
	var op *net.OpError
	switch {
	case errors.As(err, &op), errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded):
		return err
	}
	for _, errno := range networkErrnos {
		if errors.Is(err, errno) {
			// splice names the file ("write f.part: splice: connection
			// reset"); say which side failed.
			return fmt.Errorf("data connection: %w", errno)
		}
	}
	return &LocalError{Err: err}
}

var networkErrnos = []error{
	syscall.ECONNRESET, syscall.EPIPE, syscall.ECONNABORTED, syscall.ETIMEDOUT,
	syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENETDOWN, syscall.ENOTCONN,
}
