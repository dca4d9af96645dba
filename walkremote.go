package keepftp

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
)

// remoteWalk lists a remote tree, one side of a mirror: the source of a
// download, the destination of an upload.
type remoteWalk struct {
	c      *Client
	ctx    context.Context
	p      *Plan
	tr     *tree
	source bool
}

// walkRemote lists the remote tree below p's top. A source's top that
// cannot be listed is an error; a destination's top that does not exist
// is an empty tree.
func (c *Client) walkRemote(ctx context.Context, p *Plan, source bool) (*tree, error) {
	w := &remoteWalk{c: c, ctx: ctx, p: p, tr: newTree(), source: source}
	entries, err := w.list(p.root)
	switch {
	case err == nil, errors.Is(err, control.ErrBadListing):
	case !source && (resume.Classify(err) == resume.NotFound || resume.Classify(err) == resume.Permanent):
		// A missing folder: 550 from most servers, 501 from pyftpdlib
		// (and an empty listing from vsftpd). Another refusal shows when
		// the folder is made and the files are stored.
		w.tr.topMissing = true
		return w.tr, nil
	default:
		return nil, err // the top cannot be listed
	}
	w.dir("", entries, err, 0, nil)
	return w.tr, ctx.Err()
}

// list lists one folder. A destination is listed with the names that
// start with a dot (an upload's temporaries are such names), and the tree
// notes when the server would not show them.
func (w *remoteWalk) list(t resume.Target) ([]control.Entry, error) {
	if w.source {
		return w.c.listRetrying(w.ctx, t)
	}
	entries, all, err := w.c.listRetryingWith(w.ctx, t, true)
	if !all {
		w.tr.hidesDots = true
	}
	return entries, err
}

// problem reports an entry of the walk that is left out. On the source
// side it is a result wrapping ErrLeftOut and a warning; on the
// destination side a warning only: what it holds is not copied from.
func (w *remoteWalk) problem(t resume.Target, local string, err error) {
	if w.source {
		w.tr.complete = false
		w.p.leftOut(w.c, t.String(), local, err)
		return
	}
	w.c.emit(Event{Kind: EventWarning, URL: t.String(), Reason: "destination: " + err.Error()})
}

// dir walks one remote folder rel, listed as entries (listErr: what went
// wrong with the listing, if anything). ancestors are the MLSD unique
// facts of the folders above, to see a loop.
func (w *remoteWalk) dir(rel string, entries []control.Entry, listErr error, depth int, ancestors map[string]bool) {
	t := w.p.remoteTarget(rel)
	if listErr != nil {
		w.problem(t, w.p.localPath(rel), listErr)
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if ok, first := w.tr.count(); !ok {
			if first {
				w.problem(t, w.p.localPath(rel), fmt.Errorf("more than %d entries in the tree: the rest is not walked", maxEntries))
			}
			return
		}
		child, err := listedName(t, e.Name, seen)
		crel := path.Join(rel, e.Name)
		switch {
		case errors.Is(err, ErrUnsafeName):
			w.problem(child, "", err)
			continue
		case err != nil:
			w.problem(child, w.p.localPath(crel), err)
			continue
		case depth == 0 && e.Name == StagingDir:
			if w.source {
				w.problem(child, "", fmt.Errorf("the name %q is where keepftp keeps its partial files", e.Name))
			}
			continue
		}
		if !w.source && e.Type == control.File && resume.IsUploadPart(e.Name) {
			if w.tr.temps[rel] == nil {
				w.tr.temps[rel] = map[string]int64{}
			}
			w.tr.temps[rel][e.Name] = e.Size
			continue
		}
		if w.source && e.Type != control.File && e.Type != control.Dir {
			continue // links are not followed, other kinds not copied
		}
		if !w.c.takes(crel, e.Type == control.Dir, e.Size, e.ModTime) {
			continue // left out by Options.Filter: not walked, not copied
		}
		n := &node{rel: crel, kind: e.Type, size: e.Size, mtime: e.ModTime, unit: time.Second, e: e}
		if e.Facts == nil {
			n.unit = time.Minute // LIST: the minute at best
		}
		if !resume.UsableTime(n.mtime) {
			n.mtime = time.Time{}
		}
		w.tr.add(n)
		if e.Type == control.Dir {
			w.subdir(n, depth+1, ancestors)
		}
	}
}

// subdir lists and walks a subfolder, unless that would loop.
func (w *remoteWalk) subdir(n *node, depth int, ancestors map[string]bool) {
	t := w.p.remoteTarget(n.rel)
	id := n.e.Facts["unique"]
	switch {
	case id != "" && ancestors[id]:
		w.problem(t, w.p.localPath(n.rel), fmt.Errorf("directory loop: %s is a directory above it (unique %q)", t, id))
		return
	case depth > maxDepth:
		w.problem(t, w.p.localPath(n.rel), fmt.Errorf("deeper than %d levels (a directory loop?)", maxDepth))
		return
	}
	if w.ctx.Err() != nil || w.tr.entries > maxEntries {
		return
	}
	entries, err := w.list(t)
	if w.ctx.Err() != nil {
		return
	}
	if id != "" {
		ancestors = copyAdd(ancestors, id)
	}
	n.listed = err == nil || errors.Is(err, control.ErrBadListing)
	w.dir(n.rel, entries, err, depth, ancestors)
}

func copyAdd(set map[string]bool, id string) map[string]bool {
	out := make(map[string]bool, len(set)+1)
	for k := range set {
		out[k] = true
	}
	out[id] = true
	return out
}

// leftOut records a source entry left out: a result wrapping ErrLeftOut,
// and a warning event.
func (p *Plan) leftOut(c *Client, url, local string, err error) {
	err = leftOut(err)
	p.Problems = append(p.Problems, FileResult{URL: url, Local: local, Err: err})
	c.emit(Event{Kind: EventWarning, URL: url, Local: local, Reason: err.Error()})
}
