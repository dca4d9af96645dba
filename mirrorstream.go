package keepftp

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/transfer"
)

// A mirror runs folder by folder instead of planning the whole tree
// first: the walk lists a remote folder, reads the same local folder,
// decides that folder's files as PlanMirror would (asking MDTM of its
// LIST entries whose sizes match, pipelined, and with Checksum their
// hashes, per folder) and queues its transfers; every streamBatch
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
// With Delete, the destination's entries the source does not have are
// found folder by folder too, and kept on disk until the transfers are
// done (streamdelete.go): nothing is deleted unless the source's whole
// walk succeeded. A dry run (PlanMirrorFunc) walks the same way and hands
// out each action instead of doing it. An upload mirror streams too:
// mirrorupstream.go.

// streamBatch is how many transfers a streamed mirror queues before it
// runs them; lowered by tests.
var streamBatch = 1024

// mirrorStreamed is mirrorStream or mirrorUpStream: a mirror, each
// result handed to fn; or with dry set, a dry run, each action handed to
// dry and nothing done. It returns the plan, without its actions.
func (c *Client) mirrorStreamed(ctx context.Context, d Direction, rawURL, dir string, o MirrorOptions, fn func(i int, r FileResult), dry func(Action)) (*Plan, error) {
	if d == ToServer {
		return c.mirrorUpStream(ctx, rawURL, dir, o, fn, dry)
	}
	return c.mirrorStream(ctx, rawURL, dir, o, fn, dry)
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
	// dry, in a dry run, takes each action instead of its being done.
	dry func(Action)
	// gone, with Delete, finds the deletes as the walk goes; shown holds
	// the names the source's listing showed in each folder the walk is
	// in, by rel.
	gone  *goneWalk
	shown map[string]map[string]bool
	// leftOut and failed count the source entries left out and the
	// transfers that failed: either holds the deletes back.
	leftOut, failed int
}

// mirrorStream is a download mirror run folder by folder (see above),
// each result handed to fn as it comes, or a dry run (dry). Only a top
// that cannot be listed is an error with no call of fn.
func (c *Client) mirrorStream(ctx context.Context, rawURL, dir string, o MirrorOptions, fn func(i int, r FileResult), dry func(Action)) (*Plan, error) {
	top, err := c.parse(rawURL)
	if err != nil {
		return nil, err
	}
	p := &Plan{Direction: ToLocal, URL: top.String(), Dir: dir, Options: o, root: top}
	s := &streamer{pl: &planner{c: c, ctx: ctx, p: p}, stage: newStaging(dir), fn: fn, dry: dry,
		locals: map[string]map[string]*node{}, blocked: map[string]bool{}}
	root, err := os.OpenRoot(dir)
	switch {
	case err == nil:
		s.root = root
		defer root.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return nil, &transfer.LocalError{Err: err}
	}
	w := &remoteWalk{c: c, ctx: ctx, p: p, tr: newStreamTree(), source: true,
		visit: s.visit, enter: s.enter, leave: s.leave}
	if err := s.startDeletes(w.tr, s.listGone); err != nil {
		return nil, err
	}
	if s.gone != nil {
		defer s.gone.sp.close()
		w.saw = s.saw
	}
	s.reportLeftOut()
	if _, err := w.walk(); err != nil && s.n == 0 && len(p.Problems) == 0 {
		return nil, err // the top could not be listed
	}
	s.run()
	if dry == nil {
		newStaging(dir).cleanup()
	}
	s.finish(w.tr.complete)
	return p, ctx.Err()
}

// reportLeftOut hands the source entries left out to fn as results, as
// they are found; a dry run keeps them in Plan.Problems.
func (s *streamer) reportLeftOut() {
	if s.dry != nil {
		return
	}
	s.pl.p.problem = func(r FileResult) {
		s.leftOut++
		s.put(s.next(), r)
	}
}

// startDeletes sets up the deletes of a mirror with Delete: src is the
// source's walk (whether its listings may hide names with a dot), list
// lists a destination folder below an entry that goes.
func (s *streamer) startDeletes(src *tree, list func(rel string) goneFolder) error {
	if !s.pl.p.Options.Delete {
		return nil
	}
	sp, err := newDeleteSpill()
	if err != nil {
		return &transfer.LocalError{Err: err}
	}
	s.gone = &goneWalk{ctx: s.pl.ctx, sp: sp, list: list, hidesDots: func() bool { return src.hidesDots }}
	s.shown = map[string]map[string]bool{}
	return nil
}

// saw notes a name the source's listing showed.
func (s *streamer) saw(rel string) {
	folder := parentRel(rel)
	names := s.shown[folder]
	if names == nil {
		names = map[string]bool{}
		s.shown[folder] = names
	}
	names[path.Base(rel)] = true
}

// goneIn finds the deletes of the source folder rel, whose destination
// listing is dst, and forgets the names its source listing showed.
func (s *streamer) goneIn(rel string, dst map[string]*node) {
	if s.gone == nil {
		return
	}
	s.gone.folder(dst, s.shown[rel])
	delete(s.shown, rel)
}

// finish ends a mirror with Delete, once the walk is done and its
// transfers ran: it does the deletes, or says why they are held back;
// a dry run hands them out. complete: the source's walk succeeded
// completely.
func (s *streamer) finish(complete bool) {
	c, ctx, p := s.pl.c, s.pl.ctx, s.pl.p
	p.SourceComplete = complete
	if s.gone == nil || ctx.Err() != nil {
		return
	}
	leftOut := s.leftOut + len(p.Problems)
	if !complete {
		p.NoDeletes = noDeletes(leftOut)
	}
	sp := s.gone.sp
	if s.dry != nil {
		if p.NoDeletes == "" {
			for a := range sp.actions(p) {
				s.dry(*a)
			}
			p.streamedDeletes = sp.deletes
		}
		return
	}
	why := heldBack(p.NoDeletes, leftOut, s.failed)
	if why == "" && sp.err != nil {
		why = sp.err.Error()
	}
	c.runDeletes(ctx, p, why, sp.deletes, sp.actions(p), func(r FileResult) { s.put(s.next(), r) })
	if sp.readErr != nil && why == "" {
		s.put(s.next(), c.notDeleted(p, sp.readErr.Error()))
	}
}

// next reserves the next result's index.
func (s *streamer) next() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return s.n - 1
}

// put hands a result to fn, one at a time, and counts the transfers
// that failed.
func (s *streamer) put(i int, r FileResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Err != nil && !r.Delete && !errors.Is(r.Err, ErrLeftOut) {
		s.failed++
	}
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

// leave decides the folder's last files, finds its deletes and drops
// its local listing.
func (s *streamer) leave(rel string) {
	s.flush()
	if l, ok := s.locals[rel]; ok {
		s.goneIn(rel, l)
	}
	delete(s.shown, rel)
	delete(s.locals, rel)
	delete(s.blocked, rel)
}

// readLocal lists the local folder rel as walkLocal would for a
// destination: StagingDir at the top is keepftp's, names the Filter
// leaves out are not there.
func (s *streamer) readLocal(rel string) map[string]*node {
	p, c := s.pl.p, s.pl.c
	nodes, _, err := s.readLocalDir(rel)
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		c.emit(Event{Kind: EventWarning, URL: p.remoteTarget(rel).String(), Local: p.localPath(rel), Reason: "destination: " + err.Error()})
	}
	out := make(map[string]*node, len(nodes))
	for _, n := range nodes {
		out[path.Base(n.rel)] = n
	}
	return out
}

// listGone lists a local folder below an entry a download mirror
// deletes (goneWalk).
func (s *streamer) listGone(rel string) goneFolder {
	nodes, holdsOut, err := s.readLocalDir(rel)
	return goneFolder{nodes: nodes, listed: err == nil, holdsOut: holdsOut}
}

// readLocalDir lists the local folder rel: the entries the Filter takes,
// in name order, and whether it holds others (left out by the Filter, or
// that could not be read).
func (s *streamer) readLocalDir(rel string) (nodes []*node, holdsOut bool, err error) {
	c := s.pl.c
	if s.root == nil {
		return nil, false, nil
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
	if err != nil {
		return nil, false, err
	}
	slices.SortFunc(list, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	nodes = make([]*node, 0, len(list))
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
				holdsOut = true
				continue
			}
			n.kind, n.size, n.mtime = control.File, st.Size(), st.ModTime()
		}
		if !c.takes(crel, n.kind == control.Dir, n.size, n.mtime) {
			holdsOut = true
			continue
		}
		nodes = append(nodes, n)
	}
	return nodes, holdsOut, nil
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
			s.mkdir(a)
		}
		return
	}
	a.Kind = ActTransfer
	skip, why := pl.decide(n, d)
	switch part, _ := s.stage.files(filepath.FromSlash(n.rel)); {
	case skip:
		s.skip(a, why)
		return
	case hasData(part):
		why = "partial to resume"
	}
	a.Reason = why
	if s.dry != nil {
		s.dry(a)
		return
	}
	s.queue = append(s.queue, queued{a, s.next()})
	if len(s.queue) >= streamBatch {
		s.run()
	}
}

// mkdir queues a folder to make; a dry run hands it out.
func (s *streamer) mkdir(a Action) {
	if s.dry != nil {
		s.dry(a)
		return
	}
	s.mkdirs = append(s.mkdirs, a)
}

// skip reports a file up to date (why: by which rule); a dry run hands
// it out.
func (s *streamer) skip(a Action, why string) {
	a.Kind, a.Reason = ActSkip, why
	if s.dry != nil {
		s.dry(a)
		return
	}
	s.pl.c.emit(Event{Kind: EventSkip, URL: a.URL, Local: a.Local, Size: max(a.Size, 0), Reason: why})
	s.put(s.next(), FileResult{URL: a.URL, Local: a.Local, Skipped: true, Reason: why, Outcome: Outcome{Size: a.Size}})
}

// run makes the queued folders (makeFolders), runs the queued transfers,
// downloads or uploads (Options.Parallel at once), and empties the queue.
func (s *streamer) run() {
	c, ctx, p := s.pl.c, s.pl.ctx, s.pl.p
	if s.dry != nil {
		return // nothing is queued
	}
	q := *p
	q.Actions = s.mkdirs
	c.makeFolders(ctx, &q)
	clear(s.mkdirs)
	s.mkdirs = s.mkdirs[:0]
	if len(s.queue) == 0 {
		return
	}
	acts := make([]*Action, len(s.queue))
	for k := range s.queue {
		acts[k] = &s.queue[k].a
	}
	copyFiles := c.downloads
	if p.Direction == ToServer {
		copyFiles = c.uploads
	}
	ran := copyFiles(ctx, p, acts, func(k int, r FileResult) {
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
