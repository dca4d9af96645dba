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

	// bound, if set, is asked before each read how far the data may go;
	// base is the file offset of the data's first byte (moved counts from
	// there). ended says the bound ended the data: set before done is
	// sent, read after it is received.
	bound Bound
	base  int64
	ended bool
}

func newPump() *pump {
	return &pump{notify: make(chan struct{}, 1), done: make(chan error, 1)}
}

func (p *pump) add(n int64) {
	p.moved.Add(n)
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

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
