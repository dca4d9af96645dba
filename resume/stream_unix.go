//go:build unix

package resume

import (
	"context"
	"os"

	"golang.org/x/sys/unix"
)

// dupFD returns a copy of this process's descriptor fd: it shares the
// file's offset and flags (a shell's >> appends), and it works where
// opening /proc/self/fd/N again would not (a socket).
func dupFD(fd int, name string) (*os.File, error) {
	n, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "dup", Path: name, Err: err}
	}
	return os.NewFile(uintptr(n), name), nil
}

// openFIFO opens a FIFO for writing, which waits for a reader. If ctx
// ends first, it opens the FIFO's other end for a moment, so that the
// waiting open returns and nothing is left behind.
func openFIFO(ctx context.Context, name string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		return o.f, o.err
	case <-ctx.Done():
	}
	if r, err := os.OpenFile(name, os.O_RDONLY|unix.O_NONBLOCK, 0); err == nil {
		if o := <-ch; o.f != nil {
			o.f.Close()
		}
		r.Close()
	}
	return nil, ctx.Err()
}
