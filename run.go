package keepftp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/transfer"
)

// RunPlan does what a Plan says, in order: the skips (each a "skip"
// event, with its reason), the folders to make, the transfers
// (Options.Parallel at once, over the pooled connections: resumed,
// verified, with their events), then the cleanups (each a "delete"
// event), then, with MirrorOptions.Delete, the deletes (each a "delete"
// event; see deletes for when they are held back). Once ctx is done no
// transfer starts and nothing is deleted; the transfers left are reported
// with ctx's error.
//
// It returns the plan's Problems, then one result per file of the
// source, in the plan's order (Skipped for the files up to date), then
// the deletes' results (FileResult.Delete).
func (c *Client) RunPlan(ctx context.Context, p *Plan) ([]FileResult, error) {
	var results []FileResult
	err := c.RunPlanFunc(ctx, p, func(i int, r FileResult) {
		if i >= len(results) {
			results = slices.Grow(results, i+1-len(results))[:i+1]
		}
		results[i] = r
	})
	return results, err
}

// RunPlanFunc is RunPlan that hands each result to fn as it comes instead
// of returning them all: a mirror of any number of files then holds no
// result per file. i is the result's index in what RunPlan returns; the
// calls come one at a time (never at once), but not in the order of i
// when Options.Parallel is more than 1.
func (c *Client) RunPlanFunc(ctx context.Context, p *Plan, fn func(i int, r FileResult)) error {
	var mu sync.Mutex
	failed := 0 // the transfers' results with an error
	put := func(i int, r FileResult) {
		mu.Lock()
		defer mu.Unlock()
		if r.Err != nil && !r.Delete {
			failed++
		}
		fn(i, r)
	}
	for i, r := range p.Problems {
		fn(i, r)
	}
	n := len(p.Problems)
	var transfers []int // indexes of the results
	var acts []*Action
	for i := range p.Actions {
		a := &p.Actions[i]
		switch a.Kind {
		case ActSkip:
			c.emit(Event{Kind: EventSkip, URL: a.URL, Local: a.Local, Size: max(a.Size, 0), Reason: a.Reason})
			fn(n, FileResult{URL: a.URL, Local: a.Local, Skipped: true, Reason: a.Reason, Outcome: Outcome{Size: a.Size}})
			n++
		case ActTransfer:
			transfers = append(transfers, n)
			acts = append(acts, a)
			n++
		}
	}
	c.makeFolders(ctx, p)
	done := func(k int, r FileResult) {
		r.Reason = acts[k].Reason
		put(transfers[k], r)
	}
	var ran []bool
	if p.Direction == ToLocal {
		ran = c.downloads(ctx, p, acts, done)
	} else {
		ran = c.uploads(ctx, p, acts, done)
	}
	for k, a := range acts {
		if !ran[k] {
			put(transfers[k], FileResult{URL: a.URL, Local: a.Local, Reason: a.Reason, Err: ctx.Err()})
		}
	}
	if ctx.Err() == nil {
		c.cleanups(ctx, p)
	}
	if p.Options.Delete && ctx.Err() == nil {
		for _, r := range c.deletes(ctx, p, failed) {
			fn(n, r)
			n++
		}
	}
	if p.Direction == ToLocal {
		newStaging(p.Dir).cleanup()
	}
	return ctx.Err()
}

// makeFolders makes the plan's folders, parents first: local ones with
// MkdirAll, remote ones with MKD on one pooled connection (a refusal is
// most often "exists", and a folder that truly could not be made shows
// when its files are stored there).
func (c *Client) makeFolders(ctx context.Context, p *Plan) {
	var conn *control.Conn
	defer func() {
		if conn != nil {
			c.pool.Release(conn, conn.Err() == nil)
		}
	}()
	for _, a := range p.Actions {
		if a.Kind != ActMkdir || ctx.Err() != nil {
			continue
		}
		if p.Direction == ToLocal {
			if err := os.MkdirAll(a.Local, 0o755); err != nil {
				c.emit(Event{Kind: EventWarning, URL: a.URL, Local: a.Local, Reason: err.Error()})
			}
			continue
		}
		if a.Rel == "" {
			if err := c.mkdirAll(ctx, a.t); err != nil {
				c.warnf(a.URL, "%v", err)
			}
			continue
		}
		// Under the transfers' retry policy, again on a fresh connection
		// when it broke; what still fails shows when its files are stored.
		resume.Retry(ctx, "make "+a.URL, c.options(a.t, ""), func(ctx context.Context) error {
			if conn == nil {
				var err error
				if conn, err = c.pool.Conn(ctx, p.root); err != nil {
					return err
				}
			}
			err := conn.Mkdir(ctx, a.t.Path)
			if err == nil || control.IsPermanent(err) {
				return nil // a 5xx is most often "exists"
			}
			c.pool.Release(conn, conn.Err() == nil)
			conn = nil
			return err
		})
	}
}

// cleanups removes the stale temporaries of keepftp's own (ActCleanup).
func (c *Client) cleanups(ctx context.Context, p *Plan) {
	var conn *control.Conn
	for _, a := range p.Actions {
		if a.Kind != ActCleanup || ctx.Err() != nil {
			continue
		}
		if conn == nil {
			var err error
			if conn, err = c.pool.Conn(ctx, p.root); err != nil {
				c.warnf(a.URL, "not removed: %v", err)
				return
			}
		}
		if err := conn.Delete(ctx, a.t.Path); err != nil {
			c.warnf(a.URL, "a stale temporary of keepftp, not removed: %v", err)
			continue
		}
		c.emit(Event{Kind: EventDelete, URL: a.URL, Size: max(a.Size, 0), Reason: a.Reason})
	}
	if conn != nil {
		c.pool.Release(conn, conn.Err() == nil)
	}
}

// uploads runs the upload transfers, Options.Parallel at a time. Each local file is
// opened through an os.Root of the top, as the walk read it: no path
// leads out of it.
func (c *Client) uploads(ctx context.Context, p *Plan, acts []*Action, done func(int, FileResult)) []bool {
	root, rootErr := os.OpenRoot(p.Dir)
	if rootErr == nil {
		defer root.Close()
	}
	ran := forEach(ctx, len(acts), c.o.Parallel, func(i int) {
		a := acts[i]
		r := FileResult{URL: a.URL, Local: a.Local}
		if rootErr != nil {
			r.Err = &transfer.LocalError{Err: rootErr}
			c.emit(Event{Kind: EventError, URL: a.URL, Local: a.Local, Reason: r.Err.Error()})
			done(i, r)
			return
		}
		o := c.options(a.t, a.Local)
		o.PartKnown = a.part
		open := func() (*os.File, error) { return resume.OpenRegular(root, filepath.FromSlash(a.Rel)) }
		from := c.uploadSource(a.Local, a.t)
		res, err := resume.PutFile(ctx, open, a.Local, a.t, o)
		c.done(a.t, a.Local, res, err)
		r.Outcome, r.Err = outcomeOf(res), err
		c.removeSource(ctx, from, &r)
		done(i, r)
	})
	return ran
}

// downloads runs the download transfers with Options.Parallel workers and reports
// which ran. A worker takes its next file when the check after its
// transfer is made (resume.Options.Next), the moment it is about to be
// free, so that no file waits on a busy worker while another is idle.
// Where the listing's facts are not precise (LIST), that check asks the
// next file's SIZE and MDTM too and opens its data port, in the same
// round trip: those facts stand in for the next file's own look before
// its transfer, and its check after the transfer still asks the server.
func (c *Client) downloads(ctx context.Context, p *Plan, acts []*Action, done func(int, FileResult)) []bool {
	stage := newStaging(p.Dir)
	ran := make([]bool, len(acts))
	var mu sync.Mutex
	next := 0
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(acts) || ctx.Err() != nil {
			return -1
		}
		next++
		return next - 1
	}
	var wg sync.WaitGroup
	for range max(c.o.Parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var known *resume.Remote // from the look ahead taken with the last file's check
			for i := take(); i >= 0 && ctx.Err() == nil; {
				j, asked := -1, false
				next := func() string {
					asked = true
					if j = take(); j >= 0 && lookAhead(acts[j]) {
						return acts[j].t.Path
					}
					return ""
				}
				fromStart := func(path string) bool {
					return j >= 0 && acts[j].t.Path == path && c.fetchesFromStart(stage, acts[j])
				}
				ran[i] = true // each index is taken by one worker only
				var r FileResult
				r, known = c.download(ctx, stage, acts[i], known, next, fromStart)
				done(i, r)
				if !asked { // no check asked for the next file: take it now
					j = take()
				}
				i = j
			}
		}()
	}
	wg.Wait()
	return ran
}

// fetchesFromStart reports whether a's download is this worker's next use
// of the connection it has, from its start (resume.Options.NextFromStart):
// one worker (with more, the pool may hand that connection to another),
// nothing done on the server between two files (RemoveSource), one
// stream, and no partial download to resume.
func (c *Client) fetchesFromStart(stage staging, a *Action) bool {
	if c.o.Parallel > 1 || c.o.RemoveSource || c.o.Segments > 1 {
		return false
	}
	part, state := stage.files(filepath.FromSlash(a.Rel))
	for _, name := range []string{part, state} {
		if _, err := os.Lstat(name); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// lookAhead reports whether the check after a transfer should look at
// next too: when the listing's facts cannot stand in for next's look
// before its transfer.
func lookAhead(next *Action) bool {
	return next.known == nil || !next.known.Complete()
}

// download fetches one file of the tree. known, if set, is what the
// server said about it in the look ahead; next names the next file to
// look at with its check, and what the server said of that file is
// returned with the result (nil when it was not asked).
func (c *Client) download(ctx context.Context, stage staging, a *Action, known *resume.Remote, next func() string, fromStart func(string) bool) (FileResult, *resume.Remote) {
	r := FileResult{URL: a.URL, Local: a.Local}
	rel := filepath.FromSlash(a.Rel)
	if err := os.MkdirAll(filepath.Dir(a.Local), 0o755); err != nil {
		r.Err = &transfer.LocalError{Err: err}
		c.emit(Event{Kind: EventError, URL: r.URL, Local: r.Local, Reason: err.Error()})
		return r, nil
	}
	if err := stage.prepare(rel); err != nil {
		r.Err = &transfer.LocalError{Err: err}
		c.emit(Event{Kind: EventError, URL: r.URL, Local: r.Local, Reason: err.Error()})
		return r, nil
	}
	part, state := stage.files(rel)
	if known == nil && a.known != nil {
		k := *a.known // the file's own copy: the transfer may change it
		known = &k
	}
	res, err := c.get(ctx, a.t, a.Local, fileOpts{part: part, state: state, stateTemp: stage.temp(), known: known, next: next, fromStart: fromStart})
	r.Outcome, r.Err = outcomeOf(res), err
	c.removeSource(ctx, downloadSource(a.t, a.Local), &r)
	return r, res.Next
}
