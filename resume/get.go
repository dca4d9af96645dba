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

// Outcome is what a finished (or abandoned) transfer did.
type Outcome struct {
	Size     int64  // bytes in the result
	Attempts int    // attempts made
	Received int64  // bytes moved over the network, all attempts together
	Verified string // how the result was checked: a hash name, or "size"
	// Status is "complete", or "complete (verified)" when the data had
	// all arrived in an earlier attempt whose final reply was lost, and a
	// fresh connection confirmed it without moving it again.
	Status string
}

// ErrNotFound reports that the remote file does not exist.
var ErrNotFound = errors.New("remote file not found")

// errRestart marks a failed attempt after which the partial file must be
// restarted from 0: REST refused or ignored, the file changed, or a resumed
// result did not verify. Such an attempt is retried.
var errRestart = errors.New("the partial file cannot be continued")

// overlapSize is how far before the local end a resumed download starts:
// those bytes must repeat the local ones, which catches a server that
// ignores REST (or a changed file) before anything is written.
const overlapSize = 4 << 10

// Get downloads t to the local path dst, retrying and resuming by o.Policy.
// The data goes to dst+".part" beside a small state file; when complete and
// verified it is fsynced and renamed to dst. dst "-" writes to standard
// output.
func Get(ctx context.Context, t Target, dst string, o Options) (Outcome, error) {
	if dst == "-" {
		return getStream(ctx, t, os.Stdout, o)
	}
	suffix := o.PartSuffix
	if suffix == "" {
		suffix = DefaultPartSuffix
	}
	g := &getter{t: t, dst: dst, part: dst + suffix, o: &o}
	g.state = g.part + stateSuffix
	if o.Fresh {
		if err := removeFiles(g.part, g.state); err != nil {
			return g.out, &transfer.LocalError{Err: err}
		}
	}
	if o.Segments > 1 || hasSegments(g.state) {
		return g.out, g.getSegmented(ctx)
	}
	return g.out, retry(ctx, &o, &g.out, g.attempt)
}

// retry runs attempts until one succeeds, an error is not transient, or
// the policy gives up. An attempt returns the bytes it moved and the offset
// the next attempt would resume from (-1: not known before asking).
func retry(ctx context.Context, o *Options, out *Outcome, attempt func(context.Context, int) (int64, int64, error)) error {
	bo := newBackoff(o.policy())
	for n := 1; ; n++ {
		out.Attempts = n
		moved, offset, err := attempt(ctx, n)
		out.Received += moved
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if Classify(err) != Transient {
			return err
		}
		delay, reset, gerr := bo.next(moved)
		if gerr != nil {
			return fmt.Errorf("%w: %w", gerr, err)
		}
		if reset {
			o.logf("attempt %d moved %d bytes: the retry count starts afresh", n, moved)
		}
		from := fmt.Sprintf("byte %d", offset)
		if offset < 0 {
			from = "where the server's SIZE says"
		}
		o.logf("attempt %d failed after %d bytes: %v; retrying in %v from %s", n, moved, err, delay.Round(time.Millisecond), from)
		o.event(Event{Kind: EventRetry, Attempt: n, Offset: offset, Delay: delay, Reason: err.Error(), Reset: reset})
		if err := sleep(ctx, delay); err != nil {
			return err
		}
	}
}

// getter is one download's state across attempts.
type getter struct {
	t                  Target
	dst, part, state   string
	o                  *Options
	out                Outcome
	restartReason      string // set by a failed attempt: the next one starts from 0
	noRest             bool   // the server refused or ignored REST
	restartedForVerify bool
}

// attempt makes one connection's worth of progress. It returns the bytes
// it moved and the offset it resumed from.
func (g *getter) attempt(ctx context.Context, n int) (moved, offset int64, err error) {
	c, err := g.o.conn(ctx, g.t)
	if err != nil {
		return 0, 0, err
	}
	defer g.o.release(ctx, c)
	remote, err := statRemote(ctx, c, g.t.Path)
	if err != nil {
		return 0, 0, err
	}
	offset, err = g.plan(remote)
	if err != nil {
		return 0, 0, err
	}
	f, err := os.OpenFile(g.part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, offset, &transfer.LocalError{Err: err}
	}
	defer f.Close()
	if err := f.Truncate(offset); err != nil {
		return 0, offset, &transfer.LocalError{Err: err}
	}
	if remote.Size >= 0 && offset == remote.Size && (n > 1 || offset > 0) {
		// All the data is here already: an earlier attempt (or run) got it
		// and lost only the final reply. Verify; do not move it again.
		if err := g.finish(ctx, c, f, remote); err != nil {
			return 0, offset, err
		}
		g.out.Status = "complete (verified)"
		return 0, offset, nil
	}
	rest := offset
	var overlap []byte
	if offset > 0 {
		k := min(offset, overlapSize)
		overlap = make([]byte, k)
		if _, err := f.ReadAt(overlap, offset-k); err != nil {
			return 0, offset, &transfer.LocalError{Err: err}
		}
		rest = offset - k
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, offset, &transfer.LocalError{Err: err}
	}
	want := int64(-1)
	if remote.Size >= 0 {
		want = remote.Size - rest
	}
	g.o.event(Event{Kind: EventStart, Attempt: n, Offset: offset, Size: remote.Size})
	to := g.o.transferOptions(rest, remote.Size)
	to.Overlap = overlap
	res, err := transfer.Download(ctx, c, g.t.Path, rest, want, f, to)
	moved = res.Bytes
	if err != nil {
		err = g.failed(err, offset)
		if g.restartReason != "" {
			return moved, 0, err
		}
		return moved, rest + moved, err
	}
	if err := g.finish(ctx, c, f, remote); err != nil {
		return moved, offset, err
	}
	g.out.Status = "complete"
	return moved, offset, nil
}

// plan decides where this attempt starts: the local partial's end if the
// remote file is provably the one it was started from, else 0.
func (g *getter) plan(remote Remote) (int64, error) {
	var local int64
	if st, err := os.Stat(g.part); err == nil {
		local = st.Size()
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, &transfer.LocalError{Err: err}
	}
	why := g.restartReason
	g.restartReason = ""
	if local > 0 && why == "" {
		st, err := readState(g.state)
		switch {
		case err != nil:
			why = "no usable state for the partial file"
		case st.URL != g.t.String():
			why = "the partial file is from " + st.URL
		case g.noRest:
			why = "the server does not honour REST"
		case remote.Size >= 0 && local > remote.Size:
			why = fmt.Sprintf("the partial file (%d bytes) is larger than the remote file (%d)", local, remote.Size)
		default:
			if same, reason := sameFile(st.Remote, remote); !same {
				why = "the remote file changed: " + reason
			}
		}
	}
	if local > 0 && why == "" {
		return local, nil
	}
	if local > 0 {
		g.o.logf("restarting %s from 0: %s", g.t, why)
		g.o.event(Event{Kind: EventRestart, Offset: 0, Size: remote.Size, Reason: why})
	}
	if err := os.Truncate(g.part, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, &transfer.LocalError{Err: err}
	}
	if err := writeState(g.state, state{URL: g.t.String(), Remote: remote}); err != nil {
		return 0, &transfer.LocalError{Err: err}
	}
	return 0, nil
}

// failed turns a failed download into the error retry acts on, noting when
// the partial cannot be continued.
func (g *getter) failed(err error, offset int64) error {
	switch {
	case errors.Is(err, control.ErrRestRefused):
		g.noRest = true
		g.restartReason = "the server refused REST"
	case errors.Is(err, transfer.ErrOverlap):
		g.restartReason = fmt.Sprintf("the data resumed at %d does not repeat the local data: the server ignored REST or the file changed", offset)
	case errors.Is(err, transfer.ErrTooLong):
		g.noRest = true
		g.restartReason = "the server sent more than the rest of the file: it ignored REST"
	default:
		return err
	}
	return fmt.Errorf("%w: %w", errRestart, err)
}

// finish checks the complete partial file against the remote file, then
// makes it the result: fsync, rename, mtime, state removed.
func (g *getter) finish(ctx context.Context, c *control.Conn, f *os.File, remote Remote) error {
	st, err := f.Stat()
	if err != nil {
		return &transfer.LocalError{Err: err}
	}
	if remote.Size >= 0 && st.Size() != remote.Size {
		return fmt.Errorf("%w: %s has %d bytes, the server's %d", ErrVerify, g.part, st.Size(), remote.Size)
	}
	now, err := statRemote(ctx, c, g.t.Path)
	if err != nil {
		return err
	}
	if same, why := sameFile(remote, now); !same && (remote.Size >= 0 || !remote.ModTime.IsZero()) {
		g.restartReason = "the remote file changed during the download: " + why
		return fmt.Errorf("%w: %s", errRestart, g.restartReason)
	}
	g.out.Verified = "size"
	if !g.o.NoVerify {
		how, err := verifyHash(ctx, c, g.t.Path, g.part)
		switch {
		case errors.Is(err, ErrVerify) && !g.restartedForVerify:
			// A resumed file can be wrong where a fresh one would not be
			// (a change no fact showed): start over once before failing.
			g.restartedForVerify = true
			g.restartReason = err.Error()
			return fmt.Errorf("%w: %w", errRestart, err)
		case errors.Is(err, ErrVerify):
			return err
		case err != nil:
			g.o.logf("%s: the server could not hash the file (%v); checked by size only", g.t, err)
		case how != "":
			g.out.Verified = how
		}
	}
	// The time is set before the rename, so the file appears under its
	// name complete with it: a mirror that stops in between does not see
	// a finished file with the wrong time and fetch it again.
	if !g.o.NoMtime && !remote.ModTime.IsZero() {
		os.Chtimes(g.part, remote.ModTime, remote.ModTime)
	}
	if err := commit(f, g.dst); err != nil {
		return &transfer.LocalError{Err: err}
	}
	removeFiles(g.state)
	g.out.Size = st.Size()
	g.o.event(Event{Kind: EventVerified, Size: st.Size(), Reason: g.out.Verified})
	return nil
}

// getStream downloads to a stream that cannot be read back: a retry
// resumes at the count written, if the remote file is provably the same.
func getStream(ctx context.Context, t Target, w io.Writer, o Options) (Outcome, error) {
	var out Outcome
	var first Remote
	var written int64
	err := retry(ctx, &o, &out, func(ctx context.Context, n int) (int64, int64, error) {
		c, err := o.conn(ctx, t)
		if err != nil {
			return 0, written, err
		}
		defer o.release(ctx, c)
		remote, err := statRemote(ctx, c, t.Path)
		if err != nil {
			return 0, written, err
		}
		if n == 1 {
			first = remote
		} else if same, why := sameFile(first, remote); !same {
			return 0, written, fmt.Errorf("cannot resume a stream: %s", why)
		}
		want := int64(-1)
		if remote.Size >= 0 {
			want = remote.Size - written
		}
		res, err := transfer.Download(ctx, c, t.Path, written, want, w, o.transferOptions(written, remote.Size))
		written += res.Bytes
		return res.Bytes, written, err
	})
	out.Size = written
	if err == nil {
		out.Status, out.Verified = "complete", "size"
	}
	return out, err
}

func removeFiles(names ...string) error {
	for _, n := range names {
		if err := os.Remove(n); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
