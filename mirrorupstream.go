package keepftp

import (
	"context"
	"errors"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/transfer"
)

// An upload mirror runs folder by folder too (see
// mirrorstream.go): the local walk meets a folder, the same remote folder
// is listed (one level: its files, its folders' names, keepftp's
// temporaries in it), its files are decided as PlanMirror would and their
// uploads queued; once the walk leaves the folder, the stale temporaries
// in it are queued for removal, after the uploads of the same batch.

// remoteFolder is one listed folder of the destination of a streamed
// upload.
type remoteFolder struct {
	nodes    map[string]*node
	temps    map[string]int64 // keepftp's upload temporaries, by name
	expected map[string]bool  // the temporaries of the files uploaded
	listed   bool             // what it holds is known (listed, or missing)
	holdsOut bool             // it holds what the walk left out (filtered, unreadable)
}

// upStreamer runs one streamed upload mirror.
type upStreamer struct {
	*streamer
	remotes   map[string]*remoteFolder // the folders the walk is in, by rel
	open      []string                 // those folders, outermost first
	hidesDots bool                     // a listing may have left out names with a dot
	cleanups  []Action
}

// mirrorUpStream is an upload mirror run folder by folder, each result
// handed to fn as it comes, or a dry run (dry). Only a top that cannot be
// listed (the local one; the remote one for another reason than not
// existing) is an error with no call of fn.
func (c *Client) mirrorUpStream(ctx context.Context, rawURL, dir string, o MirrorOptions, fn func(i int, r FileResult), dry func(Action)) (*Plan, error) {
	top, err := c.parse(rawURL)
	if err != nil {
		return nil, err
	}
	p := &Plan{Direction: ToServer, URL: top.String(), Dir: dir, Options: o, root: top}
	pl := &planner{c: c, ctx: ctx, p: p, noTimes: c.times.noTimes(top)}
	s := &upStreamer{streamer: &streamer{pl: pl, fn: fn, dry: dry}, remotes: map[string]*remoteFolder{}}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if err == nil {
			err = errors.New(dir + " is not a directory")
		}
		return nil, &transfer.LocalError{Err: err}
	}
	f, err := s.list("")
	if err != nil {
		return nil, err
	}
	if !f.listed || len(f.nodes) == 0 {
		// A missing top may also list as empty: MKD costs little, and
		// refused (it exists) it is no error.
		s.mkdir(Action{Kind: ActMkdir, URL: top.String(), Local: dir, Size: -1, Dir: true, Reason: "missing", t: top})
	}
	f.listed = true
	s.remotes[""], s.open = f, []string{""}
	// The local source never hides names that start with a dot.
	if err := s.startDeletes(newTree(), s.listGone); err != nil {
		return nil, err
	}
	var saw func(string)
	if s.gone != nil {
		defer s.gone.sp.close()
		saw = s.saw
	}
	s.reportLeftOut()
	tr, err := walkLocalWith(ctx, c, p, true, s.visit, saw)
	for len(s.open) > 0 {
		s.leave()
	}
	s.run()
	if err != nil && s.n == 0 && len(p.Problems) == 0 {
		return nil, err
	}
	s.finish(err == nil && tr.complete)
	return p, ctx.Err()
}

// list lists the remote folder rel, one level. A top that does not
// exist is a folder not listed and no error; a top that cannot be listed
// for another reason is the error.
func (s *upStreamer) list(rel string) (*remoteFolder, error) {
	p := s.pl.p
	w := &remoteWalk{c: s.pl.c, ctx: s.pl.ctx, p: p, tr: newTree(), shallow: true}
	f := &remoteFolder{nodes: map[string]*node{}, expected: map[string]bool{}}
	w.visit = func(n *node) { f.nodes[path.Base(n.rel)] = n }
	entries, err := w.list(p.remoteTarget(rel))
	s.hidesDots = s.hidesDots || w.tr.hidesDots
	switch {
	case err == nil, errors.Is(err, control.ErrBadListing):
		f.listed = true
	case rel == "" && (resume.Classify(err) == resume.NotFound || resume.Classify(err) == resume.Permanent || errors.Is(err, errUnreadable)):
		return f, nil // missing (see walkRemote)
	case rel == "":
		return nil, err
	}
	depth := 0
	if rel != "" {
		depth = strings.Count(rel, "/") + 1
	}
	w.dir(rel, entries, err, depth, nil)
	f.temps = w.tr.temps[rel]
	f.holdsOut = w.tr.holdsOut[rel]
	return f, nil
}

// listGone lists a remote folder below an entry an upload mirror deletes
// (goneWalk).
func (s *upStreamer) listGone(rel string) goneFolder {
	f, err := s.list(rel)
	if err != nil {
		return goneFolder{}
	}
	return goneFolder{nodes: sortedNodes(f.nodes), temps: f.temps, listed: f.listed, holdsOut: f.holdsOut}
}

// leave decides the last files of the innermost open folder, queues the
// removal of its stale temporaries and drops its listing.
func (s *upStreamer) leave() {
	s.flush()
	rel := s.open[len(s.open)-1]
	s.open = s.open[:len(s.open)-1]
	f := s.remotes[rel]
	delete(s.remotes, rel)
	if f.listed {
		s.goneIn(rel, f.nodes)
	}
	delete(s.shown, rel)
	for _, name := range slices.Sorted(maps.Keys(f.temps)) {
		if f.expected[name] {
			continue
		}
		crel := path.Join(rel, name)
		t := s.pl.p.remoteTarget(crel)
		a := Action{Kind: ActCleanup, Rel: crel, URL: t.String(), Size: f.temps[name],
			Reason: "a stale temporary of keepftp: an upload of an older version of a file, or of a file no longer in the source", t: t}
		if s.dry != nil {
			s.dry(a)
		} else {
			s.cleanups = append(s.cleanups, a)
		}
	}
}

// remote is the remote node of the local entry rel, nil if none.
func (s *upStreamer) remote(rel string) *node {
	if f := s.remotes[parentRel(rel)]; f != nil {
		return f.nodes[path.Base(rel)]
	}
	return nil
}

// visit takes one local entry in walk order.
func (s *upStreamer) visit(n *node) {
	for parent := parentRel(n.rel); len(s.open) > 0 && s.open[len(s.open)-1] != parent; {
		s.leave()
	}
	if n.kind != control.Dir {
		s.pending = append(s.pending, n)
		return
	}
	s.flush()
	p := s.pl.p
	t := p.remoteTarget(n.rel)
	d := s.remote(n.rel)
	f := &remoteFolder{nodes: map[string]*node{}, expected: map[string]bool{}, listed: true}
	if d == nil || d.kind != control.Dir {
		s.mkdir(Action{Kind: ActMkdir, Rel: n.rel, URL: t.String(), Local: p.localPath(n.rel), Size: n.size, Dir: true, Reason: "missing", t: t})
	} else if s.pl.ctx.Err() == nil {
		f, _ = s.list(n.rel)
		f.listed = d.listed || f.listed
	}
	s.remotes[n.rel] = f
	s.open = append(s.open, n.rel)
}

// flush decides the pending files of the current folder (decideFolder).
func (s *upStreamer) flush() { s.pl.decideFolder(&s.pending, s.remote, s.decide) }

// decide plans one local file as planner.upload does, and queues what it
// does.
func (s *upStreamer) decide(n *node) {
	pl, p := s.pl, s.pl.p
	t := p.remoteTarget(n.rel)
	a := Action{Kind: ActTransfer, Rel: n.rel, URL: t.String(), Local: p.localPath(n.rel), Size: n.size, t: t}
	skip, why := pl.decide(n, s.remote(n.rel))
	a.Reason = why
	if skip {
		s.skip(a, why)
		return
	}
	folder, part := parentRel(n.rel), path.Base(resume.UploadPartName(t.Path, n.size, n.mtime))
	f := s.remotes[folder]
	switch size, ok := f.temps[part]; {
	case pl.c.o.Inplace:
		// Written to its final name: its temporary, if any, is stale.
	case ok:
		a.part, a.Reason = &resume.Remote{Size: size}, "partial to resume"
		f.expected[part] = true
	case f.listed && !s.hidesDots:
		a.part = &resume.Remote{Size: -1} // none there: no need to ask
	}
	if s.dry != nil {
		s.dry(a)
		return
	}
	s.queue = append(s.queue, queued{a, s.next()})
	if len(s.queue) >= streamBatch {
		s.run()
	}
}

// run makes the queued folders, runs the queued uploads, then removes
// the queued stale temporaries, and empties the queue.
func (s *upStreamer) run() {
	c, ctx, p := s.pl.c, s.pl.ctx, s.pl.p
	if s.dry != nil {
		return // nothing is queued
	}
	s.streamer.run()
	if ctx.Err() == nil && len(s.cleanups) > 0 {
		q := *p
		q.Actions = s.cleanups
		c.cleanups(ctx, &q)
	}
	clear(s.cleanups)
	s.cleanups = s.cleanups[:0]
}
