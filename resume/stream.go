package resume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/transfer"
)

// A stream (Dest.Stream: standard output, a device, a FIFO, a socket, a
// descriptor) is written in place and in order: it cannot be read back,
// truncated or renamed. What went into it is gone: a retry can only
// continue it, and only where that is shown to be a continuation. The
// stream keeps the last bytes it wrote (overlapSize), and the retry starts
// that much before its end: the server's data must repeat them, as a
// resumed file's must repeat the partial file's end, and the remote file's
// facts must be those the stream started with. Where that cannot be shown
// (the server refuses or ignores REST, the file changed), the download ends
// with ErrStreamResume. Before any byte was written, a retry starts afresh.

// ErrStreamResume reports that a download into a stream failed after
// bytes went into it, and the retry could not continue it with data shown
// to follow them. A stream cannot be restarted from 0: the reader has the
// first bytes already.
var ErrStreamResume = errors.New("cannot resume the stream")

// openStream opens d to be written in place: it must exist (no O_CREATE),
// and it is not truncated. A FIFO's open waits for a reader, until ctx
// ends; a socket is connected to. Standard output is stdout when not nil.
// The caller closes the result.
func (d Dest) openStream(ctx context.Context, stdout io.Writer) (io.WriteCloser, error) {
	switch {
	case d.fd == 1 && stdout != nil:
		return nopCloser{stdout}, nil
	case d.fd == 1:
		return nopCloser{os.Stdout}, nil
	case d.fd == 2:
		return nopCloser{os.Stderr}, nil
	case d.fd >= 0:
		return dupFD(d.fd, d.Path)
	case d.mode&fs.ModeSocket != 0:
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", d.Path)
	case d.mode&fs.ModeNamedPipe != 0:
		return openFIFO(ctx, d.Path)
	}
	return os.OpenFile(d.Path, os.O_WRONLY, 0)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// getToStream opens the stream d, downloads t into it and closes it.
func getToStream(ctx context.Context, t Target, d Dest, o Options) (Outcome, error) {
	if o.Segments > 1 {
		o.logf("%s is %s: written in order, in one stream, not in %d ranges", d.Path, d.Stream, o.Segments)
	}
	w, err := d.openStream(ctx, o.Stdout)
	if err != nil {
		if ctx.Err() != nil {
			return Outcome{}, err
		}
		return Outcome{}, &transfer.LocalError{Err: fmt.Errorf("open %s (%s): %w", d.Path, d.Stream, err)}
	}
	out, err := getStream(ctx, t, w, o)
	if cerr := w.Close(); cerr != nil && err == nil {
		err = &transfer.LocalError{Err: cerr}
	}
	return out, err
}

// stream is a destination written in order, with the last bytes written
// kept for a retry's overlap.
type stream struct {
	w       io.Writer
	written int64
	tail    []byte // the last min(written, overlapSize) bytes written
}

func (s *stream) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.written += int64(n)
	s.keep(p[:n])
	return n, err
}

// keep appends p to the tail, dropping what falls out of overlapSize.
func (s *stream) keep(p []byte) {
	if len(p) >= overlapSize {
		s.tail = append(s.tail[:0], p[len(p)-overlapSize:]...)
		return
	}
	if drop := len(s.tail) + len(p) - overlapSize; drop > 0 {
		s.tail = s.tail[:copy(s.tail, s.tail[drop:])]
	}
	s.tail = append(s.tail, p...)
}

// cannotResume ends the download: bytes are in the stream, and the next
// attempt cannot be shown to continue them.
func (s *stream) cannotResume(why string, err error) error {
	if err != nil {
		return fmt.Errorf("%w after the %d bytes written to it: %s: %w", ErrStreamResume, s.written, why, err)
	}
	return fmt.Errorf("%w after the %d bytes written to it: %s", ErrStreamResume, s.written, why)
}

// getStream downloads t into w, in order. A retry continues at the bytes
// written, where it is shown to be a continuation (see above).
func getStream(ctx context.Context, t Target, w io.Writer, o Options) (Outcome, error) {
	var out Outcome
	var first Remote
	s := &stream{w: w, tail: make([]byte, 0, overlapSize)}
	overlap := make([]byte, overlapSize) // a retry's copy of the tail
	sizeUntrusted := false               // as in getter: the server sent more than its SIZE
	err := retry(ctx, &o, &out, func(ctx context.Context, n int) (step, error) {
		none := step{offset: s.written}
		c, err := o.conn(ctx, t)
		if err != nil {
			return none, err
		}
		defer o.release(ctx, c)
		var remote Remote
		if k := o.Known; n == 1 && k != nil && k.Complete() {
			remote = *k
		} else if remote, _, err = o.statRemote(ctx, c, t.Path, true, nil); err != nil {
			return none, err
		}
		if s.written == 0 {
			first = remote // nothing written yet: start (again) from what the server says now
		} else if same, why := sameFile(first, remote); !same {
			return none, s.cannotResume("the remote file changed: "+why, nil)
		}
		k := min(s.written, overlapSize)
		rest := s.written - k
		want := int64(-1)
		if remote.Size >= 0 && !sizeUntrusted {
			want = remote.Size - rest
		}
		to := o.transferOptions(rest, remote.Size)
		to.Overlap = overlap[:copy(overlap, s.tail[len(s.tail)-int(k):])]
		before := s.written
		res, err := transfer.Download(ctx, c, t.Path, rest, want, s, to)
		st := step{moved: res.Bytes, progress: s.written - before, offset: s.written}
		switch {
		case err == nil:
		case errors.Is(err, control.ErrRestRefused):
			err = s.cannotResume("the server refused REST", err)
		case errors.Is(err, transfer.ErrOverlap):
			err = s.cannotResume(fmt.Sprintf("the data resumed at %d does not repeat the bytes written: the server ignored REST or the file changed", rest), err)
		case errors.Is(err, transfer.ErrTooLong) && rest == 0 && !sizeUntrusted:
			sizeUntrusted = true
			o.warn("%s: the server sent more than its SIZE said: SIZE is not trusted for this file", t)
		case errors.Is(err, transfer.ErrTooLong) && rest > 0:
			err = s.cannotResume("the server sent more than the rest of the file: it ignored REST", err)
		}
		return st, err
	})
	out.Size = s.written
	if err == nil {
		out.Status, out.Verified = "complete", "size"
		switch {
		case (first.Size < 0 || sizeUntrusted) && o.RequireVerified:
			// A stream cannot be held back: the bytes are written, and the
			// error says that nothing checked them.
			out.Status, out.Verified = "", NotVerified
			err = fmt.Errorf("%s: %w: the %d bytes are written", t, ErrUnverified, s.written)
		case first.Size < 0 || sizeUntrusted:
			out.Status, out.Verified = "complete (unverified)", NotVerified
			o.warn("%s: unverified: the server gave no size to check the %d bytes received", t, s.written)
		}
	}
	return out, err
}
