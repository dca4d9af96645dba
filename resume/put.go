package resume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/transfer"
)

// Put uploads the local file src to t, retrying by o.Policy. A retry asks
// the server how much of the file it has (SIZE) and sends the rest: REST
// and STOR where FEAT announces REST STREAM, APPE otherwise. The result is
// checked by size, and by hash where the server offers one.
func Put(ctx context.Context, src string, t Target, o Options) (Outcome, error) {
	o.warned = &messageSet{}
	var out Outcome
	f, err := os.Open(src)
	if err != nil {
		return out, &transfer.LocalError{Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return out, &transfer.LocalError{Err: err}
	}
	if !st.Mode().IsRegular() {
		return out, &transfer.LocalError{Err: fmt.Errorf("%s is not a regular file", src)}
	}
	size := st.Size()
	p := &putter{t: t, f: f, src: src, size: size, o: &o, out: &out}
	err = retry(ctx, &o, &out, p.attempt)
	return out, err
}

type putter struct {
	t        Target
	f        *os.File
	src      string
	size     int64
	o        *Options
	out      *Outcome
	furthest int64 // the furthest the remote file got: only bytes past it are progress
}

// attempt makes one upload attempt. Its progress is the bytes sent past
// the furthest point an earlier attempt reached.
func (p *putter) attempt(ctx context.Context, n int) (step, error) {
	start, moved, next, err := p.try(ctx, n)
	s := step{moved: moved, offset: next}
	if end := start + moved; end > p.furthest {
		s.progress, p.furthest = end-p.furthest, end
	}
	return s, err
}

// try returns where the attempt started, the bytes it sent, and where the
// next one resumes (-1: as the server will say).
func (p *putter) try(ctx context.Context, n int) (start, moved, next int64, err error) {
	var offset int64
	c, err := p.o.conn(ctx, p.t)
	if err != nil {
		return 0, 0, 0, err
	}
	defer p.o.release(ctx, c)
	if n > 1 {
		// Nothing is assumed about how much arrived: ask.
		remote, err := c.Size(ctx, p.t.Path)
		switch {
		case control.IsPermanent(err):
			offset = 0 // no such file yet, or no SIZE: send it all
		case err != nil:
			return 0, 0, 0, err
		case remote > p.size:
			p.o.logf("the remote file is larger (%d) than %s (%d): uploading it again from 0", remote, p.src, p.size)
		default:
			offset = remote
		}
	}
	if n > 1 && offset == p.size {
		if err := p.verify(ctx, c); err != nil {
			return offset, 0, offset, err
		}
		p.out.Status = p.status("complete (verified)")
		return offset, 0, offset, nil
	}
	if _, err := p.f.Seek(offset, io.SeekStart); err != nil {
		return offset, 0, offset, &transfer.LocalError{Err: err}
	}
	p.o.event(Event{Kind: EventStart, Attempt: n, Offset: offset, Size: p.size})
	res, err := transfer.Upload(ctx, c, p.t.Path, offset, p.f, p.size-offset, p.o.transferOptions(offset, p.size))
	if err != nil {
		return offset, res.Bytes, -1, err // what arrived is the server's to say
	}
	if err := p.verify(ctx, c); err != nil {
		if errors.Is(err, ErrShortUpload) {
			return offset, res.Bytes, -1, err // resume from what the server has
		}
		return offset, res.Bytes, offset, err
	}
	p.out.Status = p.status("complete")
	return offset, res.Bytes, offset, nil
}

// ErrShortUpload reports that the server holds less of the file than was
// sent: data lost after it left keepftp (a server that dropped the end of
// a TLS upload, say). It is transient: the next attempt asks SIZE and
// sends the rest.
var ErrShortUpload = errors.New("the server holds less than was sent")

// verify compares the remote file with the local one: size, then hash.
func (p *putter) verify(ctx context.Context, c *control.Conn) error {
	p.out.Verified, p.out.Size = NotVerified, p.size
	remote, err := c.Size(ctx, p.t.Path)
	switch {
	case errors.Is(err, control.ErrMalformedReply), control.IsPermanent(err) && !control.IsCode(err, 550):
		// No SIZE, or a garbled one: the size cannot be checked, the
		// upload stands (a hash may still check it).
		p.o.warn("%s: the server cannot tell the uploaded size (%v)", p.t, err)
	case err != nil:
		return err
	case remote < p.size:
		return fmt.Errorf("%w: %s has %d bytes on the server, %d here", ErrShortUpload, p.t.Path, remote, p.size)
	case remote != p.size:
		return fmt.Errorf("%w: %s has %d bytes on the server, %d here", ErrVerify, p.t.Path, remote, p.size)
	default:
		p.out.Verified = "size"
	}
	if !p.o.NoVerify {
		how, err := verifyHash(ctx, c, p.t.Path, p.src)
		switch {
		case err != nil && Classify(err) == Verify:
			return err
		case err != nil:
			p.o.logf("%s: the server could not hash the file (%v); checked by %s only", p.t, err, p.out.Verified)
		case how != "":
			p.out.Verified = how
		}
	}
	if p.out.Verified == NotVerified && p.o.RequireVerified {
		return fmt.Errorf("%s: %w: the upload stays on the server", p.t, ErrUnverified)
	}
	if p.out.Verified == NotVerified {
		p.o.warn("%s: unverified: the server gave no size and no hash to check the upload", p.t)
		return nil
	}
	p.o.event(Event{Kind: EventVerified, Size: p.size, Reason: p.out.Verified})
	return nil
}

// status marks a status unverified when nothing checked the result.
func (p *putter) status(s string) string {
	if p.out.Verified == NotVerified {
		return s + " (unverified)"
	}
	return s
}
