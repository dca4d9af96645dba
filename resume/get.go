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
	Size     int64 // bytes in the result
	Attempts int   // attempts made
	Received int64 // bytes moved over the network, all attempts together
	// Verified is how the result was checked: a hash name, "size", or
	// NotVerified when the server offered nothing to check it by.
	Verified string
	// Status is "complete", or "complete (verified)" when the data had
	// all arrived in an earlier attempt whose final reply was lost, and a
	// fresh connection confirmed it without moving it again; it is
	// "complete (unverified)" when nothing could check the result.
	Status string
	// TimeSet, for an upload, is how the server file got the local file's
	// modification time, checked by reading it back: control.SetTimeMFMT,
	// SetTimeMDTM or SetTimeSiteUtime; "" when it was not set.
	TimeSet string
	// Next, for a download with Options.Next, is the server's size and
	// time of the file Next named, asked with the check after the
	// transfer; nil when they were not asked, or did not come complete.
	Next *Remote
}

// NotVerified is Outcome.Verified when nothing checked the result: the
// server gave no size and no hash, so a transfer cut short and closed with
// 226 cannot be told from a complete one.
const NotVerified = "nothing"

// errRestart marks a failed attempt after which the partial file must be
// restarted from 0: REST refused or ignored, the file changed, or a resumed
// result did not verify. Such an attempt is retried.
var errRestart = errors.New("the partial file cannot be continued")

// overlapSize is how far before the local end a resumed download starts:
// those bytes must repeat the local ones, which catches a server that
// ignores REST (or a changed file) before anything is written.
const overlapSize = 4 << 10

// Get downloads t to the local path dst, retrying and resuming by o.Policy.
// The data goes to dst+".part" (or o.PartName) beside a small state file;
// when complete and verified it is fsynced and renamed to dst. A dst that
// is a symbolic link is written through: the file it leads to is the one
// replaced, with its .part beside it, and the link stays. A dst that is a
// stream (see LocalDest: "-" for standard output, a device, a FIFO, a
// socket, /dev/stdout) is written in place, in order, in one stream;
// "-" is o.Stdout when set.
func Get(ctx context.Context, t Target, dst string, o Options) (Outcome, error) {
	o.warned = &messageSet{}
	d, err := LocalDest(dst)
	if err != nil {
		return Outcome{}, &transfer.LocalError{Err: err}
	}
	if d.Stream != "" {
		return getToStream(ctx, t, d, o)
	}
	dst = d.Path
	suffix := o.PartSuffix
	if suffix == "" {
		suffix = DefaultPartSuffix
	}
	g := &getter{t: t, dst: dst, part: dst + suffix, o: &o}
	g.state = g.part + stateSuffix
	if o.PartName != "" {
		g.part = o.PartName
	}
	if o.StateName != "" {
		g.state = o.StateName
	}
	if o.Fresh {
		if err := removeFiles(g.part, g.state); err != nil {
			return g.out, &transfer.LocalError{Err: err}
		}
	}
	if o.Segments > 1 || hasSegments(g.state) {
		err = g.getSegmented(ctx)
	} else {
		err = retry(ctx, &o, &g.out, g.attempt)
	}
	if err != nil {
		// An empty partial holds nothing to resume: it and its state go,
		// rather than stand about (a mirror's staging directory empties).
		if st, serr := os.Stat(g.part); serr == nil && st.Size() == 0 {
			removeFiles(g.part, g.state)
		}
	}
	return g.out, err
}

// step is what one attempt achieved.
type step struct {
	moved int64 // bytes over the network, a resume's overlap included
	// progress is the new bytes past the furthest point any earlier
	// attempt reached: re-reading the overlap, or fetching again what an
	// earlier attempt had, is no progress. Only progress starts the retry
	// count afresh, so a server that always stops at the same point ends
	// in --retries attempts.
	progress int64
	offset   int64 // where the next attempt would resume; -1: as the server says
}

// retry runs attempts until one succeeds, an error is not transient, or
// the policy gives up.
func retry(ctx context.Context, o *Options, out *Outcome, attempt func(context.Context, int) (step, error)) error {
	bo := newBackoff(o.policy())
	for n := 1; ; n++ {
		out.Attempts = n
		s, err := attempt(ctx, n)
		out.Received += s.moved
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if Classify(err) != Transient {
			return err
		}
		delay, reset, gerr := bo.next(s.progress)
		if gerr != nil {
			return fmt.Errorf("%w: %w", gerr, err)
		}
		if reset {
			o.logf("attempt %d brought %d new bytes: the retry count starts afresh", n, s.progress)
		}
		from := fmt.Sprintf("byte %d", s.offset)
		if s.offset < 0 {
			from = "where the server's SIZE says"
		}
		o.logf("attempt %d failed after %d bytes (%d new): %v; retrying in %v from %s", n, s.moved, s.progress, err, delay.Round(time.Millisecond), from)
		o.event(Event{Kind: EventRetry, Attempt: n, Offset: s.offset, Delay: delay, Reason: err.Error(), Reset: reset})
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
	// sizeUntrusted: from offset 0 the server sent more than its SIZE
	// said. Its SIZE is wrong for this file (or the file grows), and is not
	// used again: the data goes on to its end, checked by what remains.
	sizeUntrusted bool
	furthest      int64 // the partial file's furthest end so far: only bytes past it are progress
	// nextAsked and nextPath: Options.Next was called, and what it named
	// (a retry's check looks at the same file).
	nextAsked bool
	nextPath  string
	// whole, when set, says the partial file holds a whole transfer: its
	// data ended and the server's final reply said so. Only the check
	// after it failed (the connection ended, say), so the next attempt
	// makes that check again, on a new connection, and fetches nothing:
	// with no size or time to prove the file unchanged it would start over
	// from 0, every time.
	whole *wholeTransfer
}

// nextName names the file to look at with the check after the transfer:
// Options.Next's answer, asked the first time only.
func (g *getter) nextName() string {
	if !g.nextAsked && g.o.Next != nil {
		g.nextAsked, g.nextPath = true, g.o.Next()
	}
	return g.nextPath
}

// wholeTransfer is a partial file that holds a whole transfer: its size,
// and the remote facts the transfer started from.
type wholeTransfer struct {
	size   int64
	remote Remote
}

// remote is the remote file's facts for attempt n: the listing's for the
// first, when complete, else the server's answers.
func (g *getter) remote(ctx context.Context, c *control.Conn, n int) (Remote, error) {
	var r Remote
	if k := g.o.Known; n == 1 && k != nil && k.Complete() {
		r = *k
	} else {
		var err error
		if r, _, err = g.o.statRemote(ctx, c, g.t.Path, true, nil); err != nil {
			return r, err
		}
	}
	if g.sizeUntrusted {
		r.Size = -1
	}
	return r, nil
}

// advance turns an attempt's bytes into a step: the partial file now ends
// at rest+moved.
func (g *getter) advance(rest, moved int64) step {
	s := step{moved: moved, offset: rest + moved}
	if end := rest + moved; end > g.furthest {
		s.progress, g.furthest = end-g.furthest, end
	}
	return s
}

// attempt makes one connection's worth of progress.
func (g *getter) attempt(ctx context.Context, n int) (step, error) {
	c, err := g.o.conn(ctx, g.t)
	if err != nil {
		return step{}, err
	}
	defer g.o.release(ctx, c)
	if w := g.whole; w != nil {
		if done, s, err := g.checkWhole(ctx, c, w); done {
			return s, err
		}
	}
	remote, err := g.remote(ctx, c, n)
	if err != nil {
		return step{}, err
	}
	offset, err := g.plan(remote)
	if err != nil {
		return step{}, err
	}
	none := step{offset: offset}
	f, err := os.OpenFile(g.part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return none, &transfer.LocalError{Err: err}
	}
	defer f.Close()
	if err := f.Truncate(offset); err != nil {
		return none, &transfer.LocalError{Err: err}
	}
	if remote.Size >= 0 && offset == remote.Size && (n > 1 || offset > 0) {
		// All the data is here already: an earlier attempt (or run) got it
		// and lost only the final reply. Verify; do not move it again.
		if err := g.finish(ctx, c, f, remote); err != nil {
			return none, err
		}
		g.out.Status = g.status("complete (verified)")
		return none, nil
	}
	rest := offset
	var overlap []byte
	if offset > 0 {
		k := min(offset, overlapSize)
		overlap = make([]byte, k)
		if _, err := f.ReadAt(overlap, offset-k); err != nil {
			return none, &transfer.LocalError{Err: err}
		}
		rest = offset - k
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return none, &transfer.LocalError{Err: err}
	}
	want := int64(-1)
	if remote.Size >= 0 {
		want = remote.Size - rest
	}
	g.o.event(Event{Kind: EventStart, Attempt: n, Offset: offset, Size: remote.Size})
	to := g.o.transferOptions(rest, remote.Size)
	to.Overlap = overlap
	var behind *control.PendingStat
	to.AtDataEnd = g.atDataEnd(c, remote, &behind)
	res, err := transfer.Download(ctx, c, g.t.Path, rest, want, f, to)
	s := g.advance(rest, res.Bytes)
	if err != nil {
		err = g.failed(err, rest, offset)
		if g.restartReason != "" {
			s.offset = 0
		}
		return s, err
	}
	if err := g.finishBehind(ctx, c, f, remote, behind); err != nil {
		if g.restartReason != "" {
			s.offset = 0
		} else {
			g.whole = &wholeTransfer{size: s.offset, remote: remote}
		}
		return s, err
	}
	g.out.Status = g.status("complete")
	return s, nil
}

// atDataEnd is what a download does when its data has all arrived, before
// the final reply (transfer.Options.AtDataEnd), on a server that answers
// commands written then after that reply (control's Deferral): it writes
// the check after the transfer there, with the next file's look and its
// EPSV (Options.Next), so that their answers come with the final reply
// instead of a round trip later. Where the check would ask MLST, it is
// left to finish. On a server not known yet, a NOOP written there shows
// which it is, for the next transfer, where the NOOP policy allows NOOPs.
func (g *getter) atDataEnd(c *control.Conn, remote Remote, behind **control.PendingStat) func(*control.Transfer, bool) {
	switch c.Deferral() {
	case control.AnsweredAfter:
		if c.Features().Has("MLST") && !remote.noMLST {
			return nil
		}
		return func(t *control.Transfer, _ bool) {
			paths, passive := []string{g.t.Path}, false
			next := g.nextName()
			if next != "" {
				paths, passive = append(paths, next), true
			}
			var p *control.PendingStat
			var err error
			if next != "" && g.retrAhead(c, next) {
				p, err = t.StatRetrBehind(next, paths...)
			} else {
				p, err = t.StatBehind(passive, paths...)
			}
			if err == nil {
				*behind = p
			}
		}
	case control.DeferralUnknown:
		return func(t *control.Transfer, noops bool) {
			if noops && t.NoopsSent() == 0 {
				t.ProbeBehind()
			}
		}
	}
	return nil
}

// retrAhead reports whether the next file's RETR may be written behind
// this transfer (Options.NextFromStart): the caller fetches it next, from
// 0, on this connection, and nothing this Get still does writes a command
// before that RETR's turn: no hash to verify the file with, no active
// mode (control checks the rest: the server's Deferral, EPSV working).
func (g *getter) retrAhead(c *control.Conn, next string) bool {
	o := g.o
	return o.NextFromStart != nil && !o.Active && o.Segments <= 1 &&
		(o.NoVerify || len(c.HashAlgos()) == 0) && o.NextFromStart(next)
}

// checkWhole makes the check after the transfer that w holds again, on c
// (the last one failed before it could tell). done is false when the
// partial file is no longer that transfer: the attempt goes on as usual.
func (g *getter) checkWhole(ctx context.Context, c *control.Conn, w *wholeTransfer) (done bool, s step, err error) {
	g.whole = nil
	s = step{offset: w.size}
	f, err := os.OpenFile(g.part, os.O_RDWR, 0)
	if err != nil {
		return false, s, nil
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() != w.size {
		return false, s, nil
	}
	g.o.logf("%s: the transfer was whole; checking it again, not fetching it again", g.t)
	if err := g.finish(ctx, c, f, w.remote); err != nil {
		if g.restartReason != "" {
			s.offset = 0
		} else {
			g.whole = w
		}
		return true, s, err
	}
	// As when a later attempt finds the data whole (attempt): an earlier
	// attempt moved it all and lost only its ending; this one proved it.
	g.out.Status = g.status("complete (verified)")
	return true, s, nil
}

// status marks a status unverified when nothing checked the result.
func (g *getter) status(s string) string {
	if g.out.Verified == NotVerified {
		// Nothing compared a size or a hash: no "(verified)" either, even
		// where a later attempt found the data already there.
		return "complete (unverified)"
	}
	return s
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
			before := st.Remote
			if g.sizeUntrusted {
				before.Size = -1
			}
			if same, reason := sameFile(before, remote); !same {
				why = "the remote file changed: " + reason
				g.furthest = 0 // another file: its bytes are all new
			}
		}
	}
	if local > 0 && why == "" {
		g.furthest = max(g.furthest, local)
		return local, nil
	}
	if local > 0 {
		g.o.logf("restarting %s from 0: %s", g.t, why)
		g.o.event(Event{Kind: EventRestart, Offset: 0, Size: remote.Size, Reason: why})
	}
	if err := os.Truncate(g.part, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, &transfer.LocalError{Err: err}
	}
	if err := writeState(g.state, g.o.StateTemp, state{URL: g.t.String(), Remote: remote}); err != nil {
		return 0, &transfer.LocalError{Err: err}
	}
	return 0, nil
}

// failed turns a failed download that started at rest (to resume at
// offset) into the error retry acts on, noting when the partial cannot be
// continued.
func (g *getter) failed(err error, rest, offset int64) error {
	switch {
	case errors.Is(err, control.ErrRestRefused):
		g.noRest = true
		g.restartReason = "the server refused REST"
	case errors.Is(err, transfer.ErrOverlap):
		g.restartReason = fmt.Sprintf("the data resumed at %d does not repeat the local data: the server ignored REST or the file changed", offset)
	case errors.Is(err, transfer.ErrTooLong) && rest == 0:
		// From 0, REST is not in play: the SIZE was wrong (or the file
		// grows). What arrived is the file's start, up to that SIZE: the
		// next attempt goes on from there to the data's end.
		g.sizeUntrusted = true
		g.o.warn("%s: the server sent more than its SIZE said: SIZE is not trusted for this file", g.t)
		return err
	case errors.Is(err, transfer.ErrTooLong):
		g.noRest = true
		g.restartReason = "the server sent more than the rest of the file: it ignored REST"
	default:
		return err
	}
	return fmt.Errorf("%w: %w", errRestart, err)
}

// finish checks the complete partial file against the remote file, then
// makes it the result: fsync, rename, mtime, state removed. The check asks
// the server once more (MLST, or SIZE and MDTM in one round trip) and
// compares with the facts the transfer started from: a file that changed
// since a listing gave those facts, or during the transfer, is caught.
func (g *getter) finish(ctx context.Context, c *control.Conn, f *os.File, remote Remote) error {
	return g.finishBehind(ctx, c, f, remote, nil)
}

// finishBehind is finish with the check's replies pending when it was
// written at the data's end (atDataEnd).
func (g *getter) finishBehind(ctx context.Context, c *control.Conn, f *os.File, remote Remote, behind *control.PendingStat) error {
	st, err := f.Stat()
	if err != nil {
		return &transfer.LocalError{Err: err}
	}
	if remote.Size >= 0 && st.Size() != remote.Size {
		return fmt.Errorf("%w: %s has %d bytes, the server's %d", ErrVerify, g.part, st.Size(), remote.Size)
	}
	var now Remote
	var next *Remote
	if behind != nil { // the check was written at the data's end (atDataEnd)
		sts, err := behind.Wait(ctx)
		if err != nil {
			return err
		}
		if len(sts) > 1 {
			next = factsOf(sts[1])
		}
		if now, err = g.o.fromStat(g.t.Path, Remote{Size: -1}, sts[0], true, true); err != nil {
			return err
		}
	} else if now, next, err = g.o.statRemoteAs(ctx, c, g.t.Path, false, g.nextName, remote.noMLST); err != nil {
		return err
	}
	g.out.Next = next
	if g.sizeUntrusted {
		now.Size = -1
	}
	if same, why := sameFile(remote, now); !same && (remote.Size >= 0 || !remote.ModTime.IsZero()) {
		g.restartReason = "the remote file changed during the download: " + why
		g.furthest = 0
		return fmt.Errorf("%w: %s", errRestart, g.restartReason)
	}
	g.out.Verified = NotVerified
	if remote.Size >= 0 {
		g.out.Verified = "size"
	}
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
			if g.out.Verified == NotVerified {
				g.o.logf("%s: the server could not hash the file (%v), and gave no size", g.t, err)
			} else {
				g.o.logf("%s: the server could not hash the file (%v); checked by size only", g.t, err)
			}
		case how != "":
			g.out.Verified = how
		}
	}
	if g.out.Verified == NotVerified && g.o.RequireVerified {
		return fmt.Errorf("%s: %w: kept as %s", g.t, ErrUnverified, g.part)
	}
	// The time is set before the rename, so the file appears under its
	// name complete with it: a mirror that stops in between does not see
	// a finished file with the wrong time and fetch it again.
	if !g.o.NoMtime && UsableTime(remote.ModTime) {
		os.Chtimes(g.part, remote.ModTime, remote.ModTime)
	}
	if err := commit(f, g.dst); err != nil {
		return &transfer.LocalError{Err: err}
	}
	removeFiles(g.state)
	g.out.Size = st.Size()
	if g.out.Verified == NotVerified {
		g.o.warn("%s: unverified: the server gave no size and no hash to check the %d bytes received", g.t, st.Size())
	} else {
		g.o.event(Event{Kind: EventVerified, Size: st.Size(), Reason: g.out.Verified})
	}
	return nil
}

func removeFiles(names ...string) error {
	for _, n := range names {
		if err := os.Remove(n); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
