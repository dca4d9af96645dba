package keepftp

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/transfer"
)

// A mirror without Delete runs folder by folder
// instead of planning the whole tree first: the walk lists a remote
// folder, reads the same local folder, decides that folder's files as
// PlanMirror would (asking MDTM of its LIST entries whose sizes match,
// pipelined, and with Checksum their hashes, per folder) and queues its
// transfers; every streamBatch
// transfers, the walk waits while the Options.Parallel workers run them,
// and goes on. So what the run holds does not grow with the number of
// files: one batch of actions, and the listings of the folders the walk
// is in (the widest folder times the depth).
//
// The walk and the transfers take turns rather than run at once: the
// walk lists over a pooled connection while the workers hold none, so no
// -P 1 run waits on its own connection (a worker keeps its connection for
// its look ahead), and the pool is not asked for one more than -P.
//
// With Delete the source's listing must be complete before anything is
// deleted: such a mirror still plans the whole tree first (PlanMirror,
// then RunPlan). An upload mirror streams too: mirrorupstream.go.

// streamBatch is how many transfers a streamed mirror queues before it
// runs them; lowered by tests.
var streamBatch = 1024

// streams reports whether a mirror runs folder by folder.
func streams(d Direction, o MirrorOptions) bool {
	return !o.Delete
}

// mirrorStreamed is mirrorStream or mirrorUpStream.
func (c *Client) mirrorStreamed(ctx context.Context, d Direction, rawURL, dir string, o MirrorOptions, fn func(i int, r FileResult)) error {
	if d == ToServer {
		return c.mirrorUpStream(ctx, rawURL, dir, o, fn)
	}
	return c.mirrorStream(ctx, rawURL, dir, o, fn)
}

// queued is a transfer of a streamed mirror, with its result's index.
type queued struct {
	a Action
	i int
}

// streamer runs one streamed download mirror.
type streamer struct {
	pl    *planner
	stage staging
	root  *os.Root // the local top; nil when it did not exist
	fn    func(i int, r FileResult)
	mu    sync.Mutex
	n     int // results handed out so far: the next index
	// locals holds the local listings of the folders the walk is in, by
	// rel: their names, as a destination walk would have them.
	locals  map[string]map[string]*node
	pending []*node // the current folder's files, waiting on its MDTM
	// blocked holds the source folders whose local name is a link or
	// something else a mirror leaves alone, with all below them.
	blocked map[string]bool
	mkdirs  []Action
	queue   []queued
}

// mirrorStream is a download mirror run folder by folder (see above),
// each result handed to fn as it comes. Only a top that cannot be listed
// is an error with no call of fn.
func (c *Client) mirrorStream(ctx context.Context, rawURL, dir string, o MirrorOptions, fn func(i int, r FileResult)) error {
	top, err := c.parse(rawURL)
	if err != nil {
		return err
	}
	p := &Plan{Direction: ToLocal, URL: top.String(), Dir: dir, Options: o, root: top}
	s := &streamer{pl: &planner{c: c, ctx: ctx, p: p}, stage: newStaging(dir), fn: fn,
		locals: map[string]map[string]*node{}, blocked: map[string]bool{}}
	root, err := os.OpenRoot(dir)
	switch {
	case err == nil:
		s.root = root
		defer root.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return &transfer.LocalError{Err: err}
	}
	p.problem = func(r FileResult) { s.put(s.next(), r) }
	w := &remoteWalk{c: c, ctx: ctx, p: p, tr: newTree(), source: true,
		visit: s.visit, enter: s.enter, leave: s.leave}
	if _, err := w.walk(); err != nil && s.n == 0 {
		return err // the top could not be listed
	}
	s.run()
	newStaging(dir).cleanup()
	return ctx.Err()
}

// next reserves the next result's index.
func (s *streamer) next() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return s.n - 1
}

// put hands a result to fn, one at a time.
func (s *streamer) put(i int, r FileResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fn(i, r)
}

// enter reads the local folder rel, when it is a folder.
func (s *streamer) enter(rel string) {
	if rel != "" {
		parent := s.locals[parentRel(rel)]
		if d := parent[path.Base(rel)]; s.blocked[rel] || d == nil || d.kind != control.Dir {
			return // missing, or not a folder: it holds nothing
		}
	}
	s.locals[rel] = s.readLocal(rel)
}

// leave decides the folder's last files and drops its local listing.
func (s *streamer) leave(rel string) {
	s.flush()
	delete(s.locals, rel)
	delete(s.blocked, rel)
}

// readLocal lists the local folder rel as walkLocal would for a
// destination: StagingDir at the top is keepftp's, names the Filter
// leaves out are not there.
func (s *streamer) readLocal(rel string) map[string]*node {
	p, c := s.pl.p, s.pl.c
	if s.root == nil {
		return nil
	}
	name := "."
	if rel != "" {
		name = filepath.FromSlash(rel)
	}
	f, err := s.root.Open(name)
	var list []fs.DirEntry
	if err == nil {
		list, err = f.ReadDir(-1)
		f.Close()
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		c.emit(Event{Kind: EventWarning, URL: p.remoteTarget(rel).String(), Local: p.localPath(rel), Reason: "destination: " + err.Error()})
	}
	out := make(map[string]*node, len(list))
	for _, d := range list {
		if rel == "" && d.Name() == StagingDir {
			continue
		}
		crel := path.Join(rel, d.Name())
		n := &node{rel: crel, kind: control.Other, size: -1, unit: time.Nanosecond, listed: true}
		switch {
		case d.IsDir():
			n.kind = control.Dir
		case d.Type()&fs.ModeSymlink != 0:
			n.kind = control.Link
		case d.Type().IsRegular():
			st, err := d.Info()
			if err != nil {
				continue
			}
			n.kind, n.size, n.mtime = control.File, st.Size(), st.ModTime()
		}
		if c.takes(crel, n.kind == control.Dir, n.size, n.mtime) {
			out[d.Name()] = n
		}
	}
	return out
}

// local is the local node of the source entry rel, nil if none.
func (s *streamer) local(rel string) *node {
	return s.locals[parentRel(rel)][path.Base(rel)]
}

// visit takes one source entry in walk order: a folder at once (after
// the files before it are decided), a file once its folder's MDTM are
// asked.
func (s *streamer) visit(n *node) {
	if n.kind != control.Dir {
		s.pending = append(s.pending, n)
		return
	}
	s.flush()
	s.decide(n)
}

// flush decides the pending files of the current folder (decideFolder).
func (s *streamer) flush() { s.pl.decideFolder(&s.pending, s.local, s.decide) }

// decide plans one source entry as planner.download does, and queues
// what it does.
func (s *streamer) decide(n *node) {
	pl, p := s.pl, s.pl.p
	if s.blocked[parentRel(n.rel)] {
		if n.kind == control.Dir {
			s.blocked[n.rel] = true
		}
		return
	}
	t := p.remoteTarget(n.rel)
	a := Action{Rel: n.rel, URL: t.String(), Local: p.localPath(n.rel), Size: n.size, t: t, known: n.known}
	d := s.local(n.rel)
	if d != nil && (d.kind == control.Link || d.kind == control.Other) {
		if n.kind == control.Dir {
			s.blocked[n.rel] = true
		}
		p.leftOut(pl.c, a.URL, a.Local, notRegular(a.Local))
		return
	}
	if n.kind == control.Dir {
		if d == nil || d.kind != control.Dir {
			a.Kind, a.Reason, a.Dir = ActMkdir, "missing", true
			s.mkdirs = append(s.mkdirs, a)
		}
		return
	}
	a.Kind = ActTransfer
	skip, why := pl.decide(n, d)
	switch part, _ := s.stage.files(filepath.FromSlash(n.rel)); {
	case skip:
		pl.c.emit(Event{Kind: EventSkip, URL: a.URL, Local: a.Local, Size: max(a.Size, 0), Reason: why})
		s.put(s.next(), FileResult{URL: a.URL, Local: a.Local, Skipped: true, Reason: why, Outcome: Outcome{Size: a.Size}})
		return
	case hasData(part):
		why = "partial to resume"
	}
	a.Reason = why
	s.queue = append(s.queue, queued{a, s.next()})
	if len(s.queue) >= streamBatch {
		s.run()
	}
}

// run makes the queued folders and runs the queued transfers, and empties
// the queue.
func (s *streamer) run() {
	c, ctx, p := s.pl.c, s.pl.ctx, s.pl.p
	for _, a := range s.mkdirs {
		if ctx.Err() != nil {
			break
		}
		if err := os.MkdirAll(a.Local, 0o755); err != nil {
			c.emit(Event{Kind: EventWarning, URL: a.URL, Local: a.Local, Reason: err.Error()})
		}
	}
	clear(s.mkdirs)
	s.mkdirs = s.mkdirs[:0]
	if len(s.queue) == 0 {
		return
	}
	acts := make([]*Action, len(s.queue))
	for k := range s.queue {
		acts[k] = &s.queue[k].a
	}
	ran := c.downloads(ctx, p, acts, func(k int, r FileResult) {
		r.Reason = acts[k].Reason
		s.put(s.queue[k].i, r)
	})
	for k, a := range acts {
		if !ran[k] {
			s.put(s.queue[k].i, FileResult{URL: a.URL, Local: a.Local, Reason: a.Reason, Err: ctx.Err()})
		}
	}
	clear(s.queue)
	s.queue = s.queue[:0]
}
