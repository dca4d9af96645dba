package testserver

import (
	"net"
	"sync"
	"time"
)

// delayLine is one direction of a link with latency: what is written to it
// reaches dst delay later, in order, at the rate it was written. A writer
// goroutine takes chunks from a FIFO stamped with their due time, so the
// delay adds to every byte's trip without throttling the throughput (a
// sleep per read would cap it at one buffer per delay). The FIFO is
// bounded: when it is full, Write blocks, which is back-pressure like a
// full link, not a loss.
type delayLine struct {
	dst   net.Conn
	delay time.Duration
	q     chan delayed
	stop  chan struct{} // closed by close: the writer ends, queued data is dropped
	done  chan struct{} // closed when the writer ended
	err   error         // why the writer ended; read only after done
	once  sync.Once
}

// delayed is a chunk of data, or an action (fn) to run in order with the
// data: a half-close, a reset, a marker for flush.
type delayed struct {
	due time.Time
	buf *[]byte
	n   int
	fn  func()
}

// lineChunk is the largest chunk the FIFO holds; lineDepth chunks at most
// are in flight per direction (32 MiB: enough for 1 GB/s at 25 ms).
const (
	lineChunk = 32 << 10
	lineDepth = 1024
)

var lineBufs = sync.Pool{New: func() any { b := make([]byte, lineChunk); return &b }}

func newDelayLine(dst net.Conn, delay time.Duration) *delayLine {
	l := &delayLine{
		dst:   dst,
		delay: delay,
		q:     make(chan delayed, lineDepth),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go l.run()
	return l
}

func (l *delayLine) run() {
	defer close(l.done)
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		var d delayed
		select {
		case d = <-l.q:
		case <-l.stop:
			l.err = net.ErrClosed
			return
		}
		if wait := time.Until(d.due); wait > 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-l.stop:
				l.err = net.ErrClosed
				return
			}
		}
		if d.fn != nil {
			d.fn()
			continue
		}
		_, err := l.dst.Write((*d.buf)[:d.n])
		lineBufs.Put(d.buf)
		if err != nil {
			l.err = err
			return
		}
	}
}

// Write queues p for delivery after the delay. It fails once the line
// stopped (a write to dst failed, or close).
func (l *delayLine) Write(p []byte) (int, error) {
	due := time.Now().Add(l.delay)
	written := 0
	for len(p) > 0 {
		b := lineBufs.Get().(*[]byte)
		n := copy(*b, p)
		if err := l.put(delayed{due: due, buf: b, n: n}); err != nil {
			lineBufs.Put(b)
			return written, err
		}
		p = p[n:]
		written += n
	}
	return written, nil
}

// then runs fn after everything written so far was delivered.
func (l *delayLine) then(fn func()) error {
	return l.put(delayed{due: time.Now().Add(l.delay), fn: fn})
}

// flush waits until everything written so far was delivered, or the line
// stopped.
func (l *delayLine) flush() {
	ack := make(chan struct{})
	if l.then(func() { close(ack) }) != nil {
		return
	}
	select {
	case <-ack:
	case <-l.done:
	}
}

func (l *delayLine) put(d delayed) error {
	select {
	case <-l.done:
		return l.err
	default:
	}
	select {
	case l.q <- d:
		return nil
	case <-l.done:
		return l.err
	}
}

// close stops the line; data still queued is dropped, like a link cut.
func (l *delayLine) close() { l.once.Do(func() { close(l.stop) }) }
