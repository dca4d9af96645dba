package resume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/transfer"
	"golang.org/x/time/rate"
)

// A segmented download (Options.Segments > 1, like lftp's pget -n) fetches
// ranges of one file over several connections at once into one
// preallocated NAME.part. Each segment is a transfer of its own: its own
// connection (with its own NOOP keepalive), its own retries, and a resume
// point recorded in the state file, so a cut, a Ctrl-C or a kill costs each
// segment only what it had not written. The whole file is checked at the
// end like any download: size, unchanged facts, the server's hash.

// minSegment is the smallest range worth a connection of its own; a file
// below two of them goes in one stream.
const minSegment = 1 << 20

// saveEvery is how often a segmented download records its progress in the
// state file. A kill loses at most this much of each segment's progress:
// those bytes are fetched again.
const saveEvery = time.Second

// maxSegmentedRestarts bounds how often a segmented download starts over
// because the remote file changed under it.
const maxSegmentedRestarts = 3

// segment is one range of a segmented download as the state file records
// it: [Start, End) of the file, of which Done bytes from Start on are in
// the partial file.
type segment struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Done  int64 `json:"done"`
}

// errOneStream stops a segmented download that cannot go on in ranges
// (REST refused or ignored): the file is fetched in one stream instead.
var errOneStream = errors.New("ranges not possible")

// splitRanges cuts [from, size) into n ranges of nearly equal length.
func splitRanges(from, size int64, n int) []segment {
	segs := make([]segment, 0, n)
	left := size - from
	for i := range n {
		end := from + left*int64(i+1)/int64(n)
		start := from + left*int64(i)/int64(n)
		segs = append(segs, segment{Start: start, End: end})
	}
	return segs
}

// validSegments reports whether segs cover [0, size) in order, each with a
// plausible Done.
func validSegments(segs []segment, size int64) bool {
	at := int64(0)
	for _, s := range segs {
		if s.Start != at || s.End < s.Start || s.Done < 0 || s.Done > s.End-s.Start {
			return false
		}
		at = s.End
	}
	return at == size && len(segs) > 0
}

// hasSegments reports whether the state beside the partial file is a
// segmented download's.
func hasSegments(name string) bool {
	st, err := readState(name)
	return err == nil && len(st.Segments) > 0
}

// segmented is one segmented download in progress. Its ranges are spans
// in file order, covering the file; a fixed number of workers (one
// connection each) run them. A worker that finishes its span takes an
// unowned one, or else splits the open span with the most bytes left and
// takes its second half (work stealing, as aria2 does), so a slow or cut
// connection does not hold the whole file back.
type segmented struct {
	g      *getter
	remote Remote
	lim    *rate.Limiter // shared by the segments: RateLimit is the file's

	cancel context.CancelFunc
	mu     sync.Mutex
	spans  []*span // under mu
	stop   error   // errOneStream or errRestart (with why) once a segment asked to stop all
	saved  []segment
	moved  atomic.Int64
}

// span is one range of a segmented download while it runs.
type span struct {
	start int64
	done  atomic.Int64 // bytes from start in the partial file
	// Under segmented.mu:
	end     int64 // moves closer when the span is split
	granted int64 // the furthest offset its running attempt may read to (transfer.Bound)
	owned   bool  // a worker runs it
}

// open is where the bytes nobody may read yet begin. Called under mu.
func (sp *span) open() int64 { return max(sp.granted, sp.start+sp.done.Load()) }

// spanBound is a span's end as the data path of its attempt sees it.
type spanBound struct {
	s  *segmented
	sp *span
}

func (b spanBound) Grant(pos, want int64) int64 {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	g := min(want, b.sp.end-pos)
	if g <= 0 {
		return 0
	}
	b.sp.granted = max(b.sp.granted, pos+g)
	return g
}

// minSteal is the least a split leaves to each half: a span with less
// than twice this open is not split.
const minSteal = minSegment

// getSegmented runs a segmented download to its end, falling back to one
// stream where ranges are not possible.
func (g *getter) getSegmented(ctx context.Context) error {
	for restarts := 0; ; restarts++ {
		err := g.segmentedOnce(ctx)
		switch {
		case errors.Is(err, errOneStream):
			g.o.logf("%s: %v; downloading in one stream", g.t, err)
			if hasSegments(g.state) {
				// The partial file has holes: one stream cannot continue it.
				g.o.event(Event{Kind: EventRestart, Offset: 0, Size: -1, Reason: err.Error()})
				if err := removeFiles(g.part, g.state); err != nil {
					return &transfer.LocalError{Err: err}
				}
			}
			return retry(ctx, g.o, &g.out, g.attempt)
		case errors.Is(err, errRestart) && ctx.Err() == nil && restarts < maxSegmentedRestarts:
			g.o.logf("restarting %s from 0: %v", g.t, err)
			g.o.event(Event{Kind: EventRestart, Reason: err.Error(), Size: -1})
			if err := removeFiles(g.state); err != nil {
				return &transfer.LocalError{Err: err}
			}
			continue
		}
		return err
	}
}

// segmentedOnce plans the segments (or takes them from the state file),
// runs them, and verifies and commits the result.
func (g *getter) segmentedOnce(ctx context.Context) error {
	var remote Remote
	restOK := false
	var planOut Outcome
	err := retry(ctx, g.o, &planOut, func(ctx context.Context, n int) (step, error) {
		c, err := g.o.conn(ctx, g.t)
		if err != nil {
			return step{offset: -1}, err
		}
		defer g.o.release(ctx, c)
		remote, _, err = g.o.statRemote(ctx, c, g.t.Path, false, nil)
		restOK = c.Features().RestStream()
		return step{offset: -1}, err
	})
	g.out.Attempts += planOut.Attempts
	if err != nil {
		return err
	}
	if !restOK {
		return fmt.Errorf("%w: the server does not announce REST STREAM", errOneStream)
	}
	if remote.Size < 0 {
		return fmt.Errorf("%w: the server does not say the file's size", errOneStream)
	}
	if remote.Size < 2*minSegment {
		return fmt.Errorf("%w: the file is small (%d bytes)", errOneStream, remote.Size)
	}
	segs, err := g.planSegments(remote)
	if err != nil {
		return err
	}
	s := &segmented{g: g, remote: remote, lim: transfer.NewLimiter(g.o.RateLimit)}
	var have int64
	for _, sg := range segs {
		sp := &span{start: sg.Start, end: sg.End, granted: sg.Start + sg.Done}
		sp.done.Store(sg.Done)
		s.spans = append(s.spans, sp)
		have += sg.Done
	}
	s.saved = slices.Clone(segs)
	g.o.event(Event{Kind: EventStart, Attempt: 1, Offset: have, Size: remote.Size})
	s.progress()

	if err := s.run(ctx); err != nil {
		return err
	}
	return g.finishSegmented(ctx, remote)
}

// planSegments returns the segments to run: the recorded ones if the
// partial file is provably of this remote file, else fresh ones over a
// newly preallocated partial file (a single stream's partial becomes the
// first, finished, segment).
func (g *getter) planSegments(remote Remote) ([]segment, error) {
	st, serr := readState(g.state)
	var local int64 = -1
	if fi, err := os.Stat(g.part); err == nil {
		local = fi.Size()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, &transfer.LocalError{Err: err}
	}
	why := ""
	switch {
	case local <= 0:
	case serr != nil:
		why = "no usable state for the partial file"
	case st.URL != g.t.String():
		why = "the partial file is from " + st.URL
	default:
		if same, reason := sameFile(st.Remote, remote); !same {
			why = "the remote file changed: " + reason
		} else if len(st.Segments) > 0 && (local != remote.Size || !validSegments(st.Segments, remote.Size)) {
			why = "the recorded ranges do not fit the partial file"
		} else if len(st.Segments) == 0 && local > remote.Size {
			why = fmt.Sprintf("the partial file (%d bytes) is larger than the remote file (%d)", local, remote.Size)
		}
	}
	if local > 0 && why == "" && len(st.Segments) > 0 {
		return st.Segments, nil
	}
	if g.o.Segments <= 1 {
		// A rerun without Segments found recorded ranges it cannot use:
		// one stream, as asked.
		return nil, fmt.Errorf("%w: %s", errOneStream, why)
	}
	if why != "" {
		g.o.logf("restarting %s from 0: %s", g.t, why)
		g.o.event(Event{Kind: EventRestart, Offset: 0, Size: remote.Size, Reason: why})
	}
	from := int64(0)
	if why == "" && local > 0 {
		from = local // a single stream's partial: its bytes are kept
	}
	n := int(min(int64(max(g.o.Segments, 2)), (remote.Size-from)/minSegment))
	segs := splitRanges(from, remote.Size, max(n, 1))
	if from > 0 {
		segs = append([]segment{{Start: 0, End: from, Done: from}}, segs...)
	}
	f, err := os.OpenFile(g.part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, &transfer.LocalError{Err: err}
	}
	defer f.Close()
	if err := f.Truncate(from); err == nil {
		err = preallocate(f, remote.Size)
	}
	if err != nil {
		return nil, &transfer.LocalError{Err: err}
	}
	if err := writeState(g.state, g.o.StateTemp, state{URL: g.t.String(), Remote: remote, Segments: segs}); err != nil {
		return nil, &transfer.LocalError{Err: err}
	}
	return segs, nil
}

// run runs the workers until every span is done or one fails for good,
// recording progress.
func (s *segmented) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.cancel = cancel
	saverDone := make(chan struct{})
	saverStop := make(chan struct{})
	go func() {
		defer close(saverDone)
		t := time.NewTicker(saveEvery)
		defer t.Stop()
		for {
			select {
			case <-saverStop:
				return
			case <-t.C:
				if err := s.save(); err != nil {
					s.g.o.logf("recording the ranges of %s: %v", s.g.t, err)
				}
			}
		}
	}()
	workers := s.g.o.Segments
	if workers < 2 { // a rerun without Segments of a segmented download: as many as it has left
		for _, sp := range s.spans {
			if sp.done.Load() < sp.end-sp.start {
				workers++
			}
		}
	}
	errs := make([]error, workers)
	outs := make([]Outcome, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			errs[w] = s.worker(ctx, &outs[w])
			if errs[w] != nil {
				cancel() // one segment failed for good: stop the others
			}
		})
	}
	wg.Wait()
	close(saverStop)
	<-saverDone
	serr := s.save()
	for _, o := range outs {
		s.g.out.Attempts += o.Attempts
	}
	s.g.out.Received += s.moved.Load()

	s.mu.Lock()
	stop := s.stop
	s.mu.Unlock()
	if stop != nil {
		return stop
	}
	// The cause, not the cancellations it caused in the other segments.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || Classify(first) == Intentional && Classify(err) != Intentional) {
			first = err
		}
	}
	if first != nil {
		return first
	}
	if serr != nil {
		return &transfer.LocalError{Err: serr}
	}
	return nil
}

// halt stops every segment for a reason that concerns the whole download.
func (s *segmented) halt(err error) {
	s.mu.Lock()
	if s.stop == nil {
		s.stop = err
	}
	s.mu.Unlock()
	s.cancel()
}

// save records each span and its progress in the state file if they
// changed.
func (s *segmented) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

// saveLocked is save with mu held: a split and its record are one step
// for every other writer of the state file.
func (s *segmented) saveLocked() error {
	segs := make([]segment, len(s.spans))
	for i, sp := range s.spans {
		segs[i] = segment{Start: sp.start, End: sp.end, Done: sp.done.Load()}
	}
	if slices.Equal(segs, s.saved) {
		return nil
	}
	if err := writeState(s.g.state, s.g.o.StateTemp, state{URL: s.g.t.String(), Remote: s.remote, Segments: segs}); err != nil {
		return err
	}
	s.saved = segs
	return nil
}

func (s *segmented) progress() {
	if s.g.o.Progress == nil {
		return
	}
	var sum int64
	s.mu.Lock()
	for _, sp := range s.spans {
		sum += sp.done.Load()
	}
	s.mu.Unlock()
	s.g.o.Progress(sum, s.remote.Size)
}

// worker runs spans on connections of its own until none is left to take.
func (s *segmented) worker(ctx context.Context, out *Outcome) error {
	f, err := os.OpenFile(s.g.part, os.O_RDWR, 0) // read: the overlap
	if err != nil {
		return &transfer.LocalError{Err: err}
	}
	defer f.Close()
	overlap := make([]byte, overlapSize) // reused by every attempt of the worker
	for ctx.Err() == nil {
		sp, split := s.take()
		if sp == nil {
			return nil
		}
		if split != nil {
			s.g.o.logf("%s: bytes %d-%d taken over from the range at %d", s.g.t, sp.start, split.End, split.Start)
			s.g.o.event(Event{Kind: EventSplit, Offset: sp.start, Size: s.remote.Size,
				Reason: fmt.Sprintf("bytes %d-%d of the range at %d, taken over by a connection that finished its own", sp.start, split.End, split.Start)})
		}
		var o Outcome
		err := s.runSpan(ctx, sp, f, overlap, &o)
		out.Attempts += o.Attempts
		s.mu.Lock()
		sp.owned = false
		sp.granted = sp.start + sp.done.Load()
		s.mu.Unlock()
		if err != nil {
			return err
		}
		// A finished span is recorded at once: a kill from here on does
		// not fetch it again.
		if err := s.save(); err != nil {
			s.g.o.logf("recording the ranges of %s: %v", s.g.t, err)
		}
	}
	return ctx.Err()
}

// take gives a worker its next span: an unowned one with bytes left, or
// else the second half of the open span with the most bytes left, split
// off and recorded in the state file before a byte of it is fetched.
// split, when not nil, is the span it was taken from as it was before the
// split. nil: nothing left worth a connection.
func (s *segmented) take() (sp *span, split *segment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range s.spans {
		if !sp.owned && sp.done.Load() < sp.end-sp.start {
			sp.owned = true
			sp.granted = sp.start + sp.done.Load()
			return sp, nil
		}
	}
	at, most := -1, int64(0)
	for i, sp := range s.spans {
		if left := sp.end - sp.open(); sp.owned && left > most {
			at, most = i, left
		}
	}
	if at < 0 || most < 2*minSteal {
		return nil, nil
	}
	victim := s.spans[at]
	before := segment{Start: victim.start, End: victim.end, Done: victim.done.Load()}
	mid := victim.open() + most/2
	sp = &span{start: mid, end: victim.end, granted: mid, owned: true}
	victim.end = mid // its attempt's Grant stops there: nothing past open() was granted
	s.spans = slices.Insert(s.spans, at+1, sp)
	s.g.o.hook("split")
	if err := s.saveLocked(); err != nil {
		// The old record is still true, only less precise: a resume
		// fetches the taken half again.
		s.g.o.logf("recording the ranges of %s: %v", s.g.t, err)
	}
	s.g.o.hook("recorded")
	return sp, &before
}

// runSpan fetches sp to its end (which may move closer meanwhile), with
// retries of its own.
func (s *segmented) runSpan(ctx context.Context, sp *span, f *os.File, overlap []byte, out *Outcome) error {
	return retry(ctx, s.g.o, out, func(ctx context.Context, n int) (step, error) {
		// Progress is what the span's done count grew by: the overlap
		// re-read at each resume is not.
		before := sp.done.Load()
		moved, offset, err := s.attempt(ctx, sp, n, f, overlap)
		s.mu.Lock()
		sp.granted = sp.start + sp.done.Load() // what the attempt did not read is open again
		s.mu.Unlock()
		return step{moved: moved, progress: sp.done.Load() - before, offset: offset}, err
	})
}

// attempt is one connection's worth of progress on sp: from its recorded
// end (less an overlap that must repeat the local bytes) to its end.
func (s *segmented) attempt(ctx context.Context, sp *span, n int, f *os.File, overlapBuf []byte) (moved, offset int64, err error) {
	done := sp.done.Load()
	pos := sp.start + done
	s.mu.Lock()
	end := sp.end
	s.mu.Unlock()
	if pos >= end {
		return 0, pos, nil
	}
	// The segment's own connection, not one from Options.Conns: a pool
	// sized for files one at a time must not serialise the ranges of one.
	cfg, err := s.g.o.Config(s.g.t)
	if err != nil {
		return 0, pos, err
	}
	c, err := control.Dial(ctx, s.g.t.Addr, cfg)
	if err != nil {
		return 0, pos, err
	}
	defer func() {
		if c.Err() == nil {
			c.Quit(context.WithoutCancel(ctx))
		} else {
			c.Close()
		}
	}()
	if n > 1 {
		// A retry: the file must still be the one the ranges are of.
		now, _, err := s.g.o.statRemote(ctx, c, s.g.t.Path, false, nil)
		if err != nil {
			return 0, pos, err
		}
		if same, why := sameFile(s.remote, now); !same {
			err := fmt.Errorf("%w: the remote file changed during the download: %s", errRestart, why)
			s.halt(err)
			return 0, pos, err
		}
	}
	k := min(done, overlapSize)
	overlap := overlapBuf[:k]
	if k > 0 {
		if _, err := f.ReadAt(overlap, pos-k); err != nil {
			return 0, pos, &transfer.LocalError{Err: err}
		}
	}
	rest := pos - k
	if _, err := f.Seek(pos, 0); err != nil {
		return 0, pos, &transfer.LocalError{Err: err}
	}
	to := transfer.Options{
		Timeout:     s.g.o.Timeout,
		Keepalive:   s.g.o.Keepalive,
		NoKeepalive: s.g.o.NoKeepalive,
		Noops:       s.g.o.Noops,
		Limiter:     s.lim,
		Logf:        s.g.o.Logf,
		Overlap:     overlap,
		Bound:       spanBound{s, sp},
		Progress: func(got int64) {
			sp.done.Store(max(rest+got-sp.start, done))
			s.progress()
		},
	}
	var res transfer.Result
	if end == s.remote.Size {
		res, err = transfer.Download(ctx, c, s.g.t.Path, rest, end-rest, f, to)
	} else {
		res, err = transfer.DownloadRange(ctx, c, s.g.t.Path, rest, end-rest, f, to)
	}
	moved = res.Bytes
	s.moved.Add(moved)
	if err == nil {
		// The data ends at the span's end, moved or not: the bound
		// stopped it there.
		sp.done.Store(max(rest+res.Bytes-sp.start, done))
		s.mu.Lock()
		end = sp.end
		s.mu.Unlock()
		if got := sp.start + sp.done.Load(); got != end {
			return moved, got, fmt.Errorf("%w: the range %d-%d ended at %d", transfer.ErrShort, sp.start, end, got)
		}
		return moved, end, nil
	}
	switch {
	case errors.Is(err, control.ErrRestRefused):
		err = fmt.Errorf("%w: the server refused REST: %w", errOneStream, err)
		s.halt(err)
	case errors.Is(err, transfer.ErrOverlap), errors.Is(err, transfer.ErrTooLong):
		err = fmt.Errorf("%w: the server ignored REST or the file changed: %w", errOneStream, err)
		s.halt(err)
	}
	return moved, sp.start + sp.done.Load(), err
}

// finishSegmented verifies and commits the complete partial file, on a
// connection of its own (retried like an attempt).
func (g *getter) finishSegmented(ctx context.Context, remote Remote) error {
	var out Outcome
	var restart error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := retry(ctx, g.o, &out, func(ctx context.Context, n int) (step, error) {
		none := step{offset: remote.Size}
		c, err := g.o.conn(ctx, g.t)
		if err != nil {
			return none, err
		}
		defer g.o.release(ctx, c)
		f, err := os.OpenFile(g.part, os.O_RDWR, 0)
		if err != nil {
			return none, &transfer.LocalError{Err: err}
		}
		defer f.Close() // commit closed it already when it succeeded
		err = g.finish(ctx, c, f, remote)
		if errors.Is(err, errRestart) {
			// Changed, or the hash differs: the whole download starts over,
			// not this check, which therefore stops retrying.
			restart = err
			cancel()
		}
		return none, err
	})
	g.out.Attempts += out.Attempts
	if restart != nil {
		g.restartReason = ""
		return restart
	}
	if err == nil {
		g.out.Status = g.status("complete")
	}
	return err
}
