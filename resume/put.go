package resume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/transfer"
)

// Put uploads the local file src to t, retrying by o.Policy (see PutFile).
func Put(ctx context.Context, src string, t Target, o Options) (Outcome, error) {
	return PutFile(ctx, func() (*os.File, error) { return openRegular(os.Stat, os.Open, src) }, src, t, o)
}

// openRegular opens a local file to upload, after a look that it is a
// regular file: opening a FIFO waits for a writer. stat and open are the
// os ones, or an os.Root's (the mirror's, that no path leads out of).
func openRegular(stat func(string) (os.FileInfo, error), open func(string) (*os.File, error), name string) (*os.File, error) {
	st, err := stat(name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s: put reads regular files only", name, streamKind(st.Mode()))
	}
	return open(name)
}

// OpenRegular is openRegular in root: what a mirror opens to upload.
func OpenRegular(root *os.Root, name string) (*os.File, error) {
	return openRegular(root.Stat, root.Open, name)
}

// PutFile uploads the local file that open opens (name names it in
// messages) to t, retrying by o.Policy.
//
// The data goes to a temporary in t's directory (UploadPartName), never to
// t itself: a reader on the server sees the old file or the new one, never
// half of one. A retry, or a later run, asks the server how much of the
// temporary it has (SIZE) and sends the rest: REST and STOR where FEAT
// announces REST STREAM, APPE otherwise. The complete temporary is checked
// by size, and by hash where the server offers one; it gets the local
// file's time (keepTime), and only then is it renamed to t (RNFR, RNTO).
// A server that will not rename over an existing file has the old file
// deleted then, after the new one was verified, and the rename made again:
// a warning says how long no file stood under the name. With o.Inplace the
// data goes to t directly.
func PutFile(ctx context.Context, open func() (*os.File, error), name string, t Target, o Options) (Outcome, error) {
	o.warned = &messageSet{}
	var out Outcome
	f, err := open()
	if err != nil {
		return out, &transfer.LocalError{Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return out, &transfer.LocalError{Err: err}
	}
	if !st.Mode().IsRegular() { // replaced since it was looked at
		return out, &transfer.LocalError{Err: fmt.Errorf("%s is %s: put reads regular files only", name, streamKind(st.Mode()))}
	}
	p := &putter{t: t, w: t, f: f, src: name, size: st.Size(), mtime: st.ModTime(), o: &o, out: &out}
	if !o.Inplace {
		p.w.Path = UploadPartName(t.Path, p.size, p.mtime)
	}
	err = retry(ctx, &o, &out, p.attempt)
	return out, err
}

type putter struct {
	t     Target // where the file goes
	w     Target // where the data is written: the temporary, or t with Inplace
	f     *os.File
	src   string
	size  int64
	mtime time.Time
	o     *Options
	out   *Outcome
	// furthest is the most the server said it held of the file (SIZE at
	// the start of an attempt): only bytes past it are progress. Bytes
	// sent are not: on a fast path the whole rest is handed to the socket
	// before a cut, and the server keeps what it read.
	furthest int64

	resumed  bool // an attempt continued bytes already on the server
	fromZero bool // the next attempt starts at 0 without asking (the bytes there did not verify)
	// staged: the temporary was verified complete. If it is gone later,
	// a rename whose reply was lost may have made it the final file.
	staged bool
}

// atomic reports whether the data goes to a temporary.
func (p *putter) atomic() bool { return p.w.Path != p.t.Path }

// attempt makes one upload attempt. Its progress is what the server holds
// past the most it said it held before: the bytes earlier attempts got
// there, as this attempt's SIZE finds them.
func (p *putter) attempt(ctx context.Context, n int) (step, error) {
	held, moved, next, err := p.try(ctx, n)
	s := step{moved: moved, offset: next}
	if held > p.furthest {
		s.progress, p.furthest = held-p.furthest, held
	}
	return s, err
}

// ask reports whether attempt n asks the server how much of the file it
// holds: every retry does; a first attempt does where a temporary may be
// there from an earlier run.
func (p *putter) ask(n int) bool {
	switch {
	case p.fromZero:
		return false
	case n > 1:
		return true
	case !p.atomic() || p.o.Fresh:
		return false
	}
	return p.o.PartKnown == nil || p.o.PartKnown.Size >= 0
}

// try returns how much of the file the server held when the attempt
// started (0 when it did not ask), the bytes it sent, and where the next
// one resumes (-1: as the server will say).
func (p *putter) try(ctx context.Context, n int) (held, moved, next int64, err error) {
	var offset int64
	c, err := p.o.conn(ctx, p.t)
	if err != nil {
		return 0, 0, 0, err
	}
	defer p.o.release(ctx, c)
	found := false // the server holds offset bytes of the file
	asked := p.ask(n)
	p.fromZero = false
	if asked {
		// Nothing is assumed about how much arrived: ask.
		remote, err := c.Size(ctx, p.w.Path)
		switch {
		case control.IsPermanent(err) && p.staged:
			// The verified temporary is gone: renamed by an attempt
			// whose reply was lost, or taken away.
			return 0, 0, 0, p.renamedBefore(ctx, c)
		case control.IsPermanent(err):
			offset = 0 // no such file yet, or no SIZE: send it all
		case err != nil:
			return 0, 0, 0, err
		case remote > p.size:
			p.o.logf("the server holds more of %s (%d) than %s has (%d): uploading it again from 0", p.w.Path, remote, p.src, p.size)
		default:
			offset, found = remote, true
		}
	}
	if found && offset == p.size {
		// All of it is there already: a lost final reply, or an earlier
		// run stopped before the rename.
		p.resumed = true
		if err := p.verify(ctx, c); err != nil {
			return offset, 0, offset, p.notContinued(err)
		}
		if err := p.commit(ctx, c); err != nil {
			return offset, 0, offset, err
		}
		if n > 1 {
			p.out.Status = p.status("complete (verified)")
		} else {
			p.out.Status = p.status("complete")
		}
		return offset, 0, offset, nil
	}
	if offset > 0 {
		p.resumed = true
	}
	if _, err := p.f.Seek(offset, io.SeekStart); err != nil {
		return offset, 0, offset, &transfer.LocalError{Err: err}
	}
	p.o.event(Event{Kind: EventStart, Attempt: n, Offset: offset, Size: p.size})
	res, err := transfer.Upload(ctx, c, p.w.Path, offset, p.f, p.size-offset, p.o.transferOptions(offset, p.size))
	if err != nil {
		return offset, res.Bytes, -1, p.brokenOff(ctx, c, offset, res.Bytes, err) // what arrived is the server's to say
	}
	if err := p.verify(ctx, c); err != nil {
		if errors.Is(err, ErrShortUpload) {
			return offset, res.Bytes, -1, err // resume from what the server has
		}
		return offset, res.Bytes, offset, p.notContinued(err)
	}
	if err := p.commit(ctx, c); err != nil {
		return offset, res.Bytes, offset, err
	}
	p.out.Status = p.status("complete")
	return offset, res.Bytes, offset, nil
}

// notContinued turns a failed check of bytes that an earlier attempt or
// run left on the server into a restart from 0, once: they were not this
// file's. A check that fails after a whole upload from 0 stands.
func (p *putter) notContinued(err error) error {
	if !errors.Is(err, ErrVerify) || !p.resumed {
		return err
	}
	p.resumed, p.fromZero = false, true
	p.o.event(Event{Kind: EventRestart, Offset: 0, Size: p.size, Reason: "the bytes already on the server did not verify: " + err.Error()})
	return fmt.Errorf("%w: %w", errRestart, err)
}

// errBrokenOff marks an upload the server answered with a 5xx after it
// kept bytes of it: see brokenOff.
var errBrokenOff = errors.New("the upload broke off")

// brokenOff looks again at an upload that failed with a 5xx after data
// was sent: a server that kept bytes of this attempt did not refuse the
// upload, its data connection broke (ftpserverlib answers such a cut
// "550 Issue during transfer" when the client had written all it had).
// Then the failure may pass, and the next attempt resumes from what the
// server holds. Any other failure is returned as it is.
func (p *putter) brokenOff(ctx context.Context, c *control.Conn, offset, sent int64, err error) error {
	if !control.IsPermanent(err) || sent == 0 || ctx.Err() != nil || c.Err() != nil {
		return err
	}
	held, serr := c.Size(ctx, p.w.Path)
	if serr != nil || held <= offset {
		return err
	}
	return fmt.Errorf("%w: %v; the server kept %d bytes of it", errBrokenOff, err, held-offset)
}

// ErrShortUpload reports that the server holds less of the file than was
// sent: data lost after it left keepftp (a server that dropped the end of
// a TLS upload, say). It is transient: the next attempt asks SIZE and
// sends the rest.
var ErrShortUpload = errors.New("the server holds less than was sent")

// verify compares the written remote file with the local one: size, then
// hash.
func (p *putter) verify(ctx context.Context, c *control.Conn) error {
	return p.verifyAt(ctx, c, p.w.Path)
}

func (p *putter) verifyAt(ctx context.Context, c *control.Conn, remotePath string) error {
	p.out.Verified, p.out.Size = NotVerified, p.size
	remote, err := c.Size(ctx, remotePath)
	switch {
	case errors.Is(err, control.ErrMalformedReply), control.IsPermanent(err) && !errors.Is(err, control.ErrNotFound):
		// No SIZE, or a garbled one: the size cannot be checked, the
		// upload stands (a hash may still check it).
		p.o.warn("%s: the server cannot tell the uploaded size (%v)", p.t, err)
	case err != nil:
		return err
	case remote < p.size:
		return fmt.Errorf("%w: %s has %d bytes on the server, %d here", ErrShortUpload, remotePath, remote, p.size)
	case remote != p.size:
		return fmt.Errorf("%w: %s has %d bytes on the server, %d here", ErrVerify, remotePath, remote, p.size)
	default:
		p.out.Verified = "size"
	}
	if !p.o.NoVerify {
		how, err := verifyHashOf(ctx, c, remotePath, p.src, p.localHash)
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

// localHash hashes the local file, open already: the bytes that were sent.
func (p *putter) localHash(algo string) (string, error) {
	return HashReader(io.NewSectionReader(p.f, 0, p.size), algo)
}

// status marks a status unverified when nothing checked the result.
func (p *putter) status(s string) string {
	if p.out.Verified == NotVerified {
		// Nothing compared a size or a hash: no "(verified)" either, even
		// where a later attempt found the data already there.
		return "complete (unverified)"
	}
	return s
}

// commit makes a verified upload the file: the local file's time on it,
// then, for a temporary, the rename to the final name.
func (p *putter) commit(ctx context.Context, c *control.Conn) error {
	if p.atomic() {
		p.staged = true
	}
	p.keepTime(ctx, c, p.w.Path)
	if !p.atomic() {
		return nil
	}
	return p.rename(ctx, c)
}

// rename renames the verified temporary to the final name. Where the
// server will not rename over an existing file, the old file is deleted
// and the rename made again: the old file stayed whole until the new one
// was verified, and the new one is whole under its temporary name until
// the rename; the warning says how long no file stood under the name.
// A rename the server refuses for good (a 5xx, the temporary still there)
// fails the file at once (errRenameRefused): asking again gets the same
// answer. A 4xx, or a connection lost, is the next attempt's to try again.
func (p *putter) rename(ctx context.Context, c *control.Conn) error {
	err := c.Rename(ctx, p.w.Path, p.t.Path)
	if err == nil || !control.IsPermanent(err) {
		return err // a connection error: the next attempt finds out what happened
	}
	if !errors.Is(err, control.ErrRenameToRefused) {
		return p.renameFromRefused(ctx, c, err)
	}
	if _, serr := c.Size(ctx, p.t.Path); serr != nil {
		if !control.IsPermanent(serr) {
			return serr // the connection: the next attempt renames
		}
		return fmt.Errorf("%w %s to %s (%w); %s stays on the server as %s", errRenameRefused, p.w.Path, p.t.Path, err, p.upload(), p.w.Path)
	}
	start := time.Now()
	if derr := c.Delete(ctx, p.t.Path); derr != nil {
		if !control.IsPermanent(derr) {
			return derr
		}
		return fmt.Errorf("%w %s over the existing %s (%w), nor to delete it (%w); the old file is untouched, and %s stays on the server as %s", errRenameRefused, p.w.Path, p.t.Path, err, derr, p.upload(), p.w.Path)
	}
	if rerr := c.Rename(ctx, p.w.Path, p.t.Path); rerr != nil {
		return fmt.Errorf("the server does not rename over an existing file (%w): the old %s was deleted after the new one was verified, and the rename then failed (%w); %s is under %s, and the next run renames it", err, p.t.Path, rerr, p.upload(), p.w.Path)
	}
	p.o.warn("%s: the server does not rename over an existing file (%v): the old file was deleted only after the new one was verified, and the new one renamed at once: no file stood under the name for %v", p.t, err, time.Since(start).Round(time.Millisecond))
	return nil
}

// renameFromRefused handles RNFR's refusal (err, a 5xx). Where the
// temporary is gone (taken away since it was verified), the next attempt
// starts again: SIZE says 550, or another size. Where it is still there,
// the refusal is the server's answer to the rename (a server that lets
// the user write but not rename: 550 Permission denied), and the same
// question would get it again: the file fails at once.
func (p *putter) renameFromRefused(ctx context.Context, c *control.Conn, err error) error {
	size, serr := c.Size(ctx, p.w.Path)
	switch {
	case serr != nil && !control.IsPermanent(serr):
		return serr // the connection: the next attempt finds out
	case serr == nil && size == p.size, serr != nil && !errors.Is(serr, control.ErrNotFound):
		// There, or a server with no SIZE: the upload was verified a
		// moment ago on this connection.
		return fmt.Errorf("%w %s to %s (%w); %s stays on the server as %s", errRenameRefused, p.w.Path, p.t.Path, err, p.upload(), p.w.Path)
	}
	return fmt.Errorf("%w: renaming %s: %w", errRestart, p.w.Path, err)
}

// errRenameRefused marks an upload whose rename to its final name the
// server refused for good: the temporary stays, and the file fails at
// once (Permanent, whatever the reply's code says otherwise: a 550 to
// RNFR or RNTO is no missing remote file).
var errRenameRefused = errors.New("the server refused to rename")

// upload names the upload in a message about its temporary: verified
// only where something checked it.
func (p *putter) upload() string {
	if p.out.Verified == NotVerified {
		return "the complete upload (unverified: the server gave no size and no hash)"
	}
	return "the complete, verified upload"
}

// renamedBefore handles a verified temporary found gone: when the final
// file is this one (size, and hash where the server offers one), an
// earlier attempt's rename went through and its reply was lost; else the
// upload starts again from 0.
func (p *putter) renamedBefore(ctx context.Context, c *control.Conn) error {
	p.staged = false
	if err := p.verifyAt(ctx, c, p.t.Path); err != nil {
		p.fromZero = true
		return fmt.Errorf("%w: the verified temporary %s is gone, and %s is not the file (%w)", errRestart, p.w.Path, p.t.Path, err)
	}
	p.out.Status = p.status("complete (verified)")
	return nil
}
