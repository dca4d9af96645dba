package transfer

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
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
func (p *pump) run(ctx context.Context, dst io.Writer, src io.Reader, lim *rate.Limiter, timeout time.Duration, download bool) {
	var err error
	if lim == nil && zeroCopy(dst, src) {
		err = p.chunked(dst, src, timeout, download)
	} else {
		err = p.buffered(ctx, dst, src, lim, download)
	}
	p.done <- err
}

// zeroCopy reports whether io.Copy between dst and src takes Linux's
// zero-copy paths: splice from a TCP socket into a file, sendfile from a
// file into a TCP socket.
func zeroCopy(dst io.Writer, src io.Reader) bool {
	_, fileDst := dst.(*os.File)
	_, tcpSrc := src.(*net.TCPConn)
	_, tcpDst := dst.(*net.TCPConn)
	_, fileSrc := src.(*os.File)
	return fileDst && tcpSrc || tcpDst && fileSrc
}

// chunked copies with io.CopyN, which keeps the zero-copy path (os.File's
// ReadFrom and TCPConn's ReadFrom see through the io.LimitedReader).
func (p *pump) chunked(dst io.Writer, src io.Reader, timeout time.Duration, download bool) error {
	chunk := int64(minChunk)
	for {
		start := time.Now()
		n, err := io.CopyN(dst, src, chunk)
		if n > 0 {
			p.add(n)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return classify(err, download)
		}
		switch took := time.Since(start); {
		case took < timeout/16 && chunk < maxChunk:
			chunk *= 2
		case took > timeout/4 && chunk > minChunk:
			chunk /= 2
		}
	}
}

func (p *pump) buffered(ctx context.Context, dst io.Writer, src io.Reader, lim *rate.Limiter, download bool) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	if lim != nil {
		buf = buf[:min(len(buf), lim.Burst())]
	}
	for {
		n, rerr := src.Read(buf)
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

// classify attributes a zero-copy error: network errors come as
// *net.OpError; anything else is the local file's.
func classify(err error, download bool) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return err
	}
	return &LocalError{Err: err}
}
