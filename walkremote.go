package keepftp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
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
	dirs   int // listed below the top, against maxDirs
	// Set when the walk is streamed (a download mirror run folder by
	// folder, see mirrorstream.go): visit takes each entry in walk order
	// instead of the tree, which then holds no node, no seen name; enter
	// and leave bracket each folder's entries.
	visit        func(n *node)
	enter, leave func(rel string)
	// saw, when set with visit, takes every name the walk is shown, as
	// the tree's seen would (a streamed mirror's deletes).
	saw func(rel string)
	// shallow: list one folder, not the folders in it (a streamed
	// upload lists the destination folder by folder).
	shallow bool
}

// walkRemote lists the remote tree below p's top. A source's top that
// cannot be listed is an error; a destination's top that does not exist
// is an empty tree.
func (c *Client) walkRemote(ctx context.Context, p *Plan, source bool) (*tree, error) {
	return (&remoteWalk{c: c, ctx: ctx, p: p, tr: newTree(), source: source}).walk()
}

// walk lists the tree below the top.
func (w *remoteWalk) walk() (*tree, error) {
	p, source, ctx := w.p, w.source, w.ctx
	entries, err := w.list(p.root)
	switch {
	case err == nil, errors.Is(err, control.ErrBadListing):
	case !source && (resume.Classify(err) == resume.NotFound || resume.Classify(err) == resume.Permanent || errors.Is(err, errUnreadable)):
		// A missing folder: 550 from most servers, 501 from pyftpdlib
		// (and an empty listing from vsftpd, whose CWD then answers 550:
		// errUnreadable). Another refusal shows when the folder is made
		// and the files are stored.
		w.tr.topMissing = true
		return w.tr, nil
	default:
		return nil, err // the top cannot be listed
	}
	w.dir("", entries, err, 0, nil)
	return w.tr, ctx.Err()
}

// list lists one folder. A destination is listed with the names that
// start with a dot (an upload's temporaries are such names). The tree
// notes when the server would not show them: a source's listing (LIST
// without -a) may leave them out, and then a destination's name with a dot
// is never taken as missing from the source.
func (w *remoteWalk) list(t resume.Target) ([]control.Entry, error) {
	entries, all, err := w.c.listRetryingWith(w.ctx, t, !w.source, true)
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
// wrong with the listing, if anything). ancestors are what the folders
// above are known by, to see a loop: their MLSD unique facts and their
// listings' fingerprints, each with the folder.
func (w *remoteWalk) dir(rel string, entries []control.Entry, listErr error, depth int, ancestors map[string]string) {
	t := w.p.remoteTarget(rel)
	if listErr != nil {
		w.tr.holdsOut[rel] = true // a bad line may be an entry
		w.problem(t, w.p.localPath(rel), listErr)
	}
	if fp := fingerprint(entries); fp != "" {
		if above, ok := ancestors[fp]; ok {
			w.problem(t, w.p.localPath(rel), fmt.Errorf("directory loop: %s lists the same entries (names, sizes, times) as %s above it", t, above))
			return
		}
		ancestors = copyAdd(ancestors, fp, t.String())
	}
	if w.enter != nil {
		w.enter(rel)
		defer w.leave(rel)
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if ok, first := w.tr.count(); !ok {
			if first {
				w.problem(t, w.p.localPath(rel), fmt.Errorf("more than %d entries in the tree: the rest is not walked", w.tr.limit))
			}
			w.tr.holdsOut[rel] = true
			return
		}
		child, err := listedName(t, e.Name, seen)
		crel := path.Join(rel, e.Name)
		if w.visit == nil {
			w.tr.seen[crel] = true
		} else if w.saw != nil {
			w.saw(crel)
		}
		switch {
		case errors.Is(err, ErrUnsafeName):
			w.tr.leftOut(crel)
			w.problem(child, "", err)
			continue
		case err != nil:
			w.tr.leftOut(crel)
			w.problem(child, w.p.localPath(crel), err)
			continue
		case depth == 0 && e.Name == StagingDir:
			w.tr.leftOut(crel)
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
			w.tr.leftOut(crel)
			continue // left out by Options.Filter: not walked, not copied
		}
		n := &node{rel: crel, kind: e.Type, size: e.Size, mtime: e.ModTime, unit: time.Second}
		if e.Type == control.Dir {
			n.unique = e.Facts["unique"]
		} else {
			n.known = listingFacts(e)
		}
		if e.Facts == nil {
			n.unit = time.Minute // LIST: the minute at best
		}
		if !resume.UsableTime(n.mtime) {
			n.mtime = time.Time{}
		}
		if w.visit != nil {
			w.visit(n)
		} else {
			w.tr.add(n)
		}
		if e.Type == control.Dir && !w.shallow {
			w.subdir(n, depth+1, ancestors)
		}
	}
}

// subdir lists and walks a subfolder, unless that would loop.
func (w *remoteWalk) subdir(n *node, depth int, ancestors map[string]string) {
	t := w.p.remoteTarget(n.rel)
	id := n.unique
	if id != "" {
		id = "unique " + id // apart from the fingerprints
	}
	switch {
	case id != "" && ancestors[id] != "":
		w.problem(t, w.p.localPath(n.rel), fmt.Errorf("directory loop: %s is %s above it (%s)", t, ancestors[id], id))
		return
	case depth > maxDepth:
		w.problem(t, w.p.localPath(n.rel), fmt.Errorf("deeper than %d levels (a directory loop?)", maxDepth))
		return
	}
	if w.ctx.Err() != nil || w.tr.entries > w.tr.limit || w.dirs > maxDirs {
		return
	}
	if w.dirs++; w.dirs > maxDirs {
		w.problem(t, w.p.localPath(n.rel), fmt.Errorf("more than %d directories in the tree: the rest is not walked", maxDirs))
		return
	}
	entries, err := w.list(t)
	if w.ctx.Err() != nil {
		return
	}
	if id != "" {
		ancestors = copyAdd(ancestors, id, t.String())
	}
	n.listed = err == nil || errors.Is(err, control.ErrBadListing)
	w.dir(n.rel, entries, err, depth, ancestors)
}

func copyAdd(set map[string]string, key, dir string) map[string]string {
	out := make(map[string]string, len(set)+1)
	for k, v := range set {
		out[k] = v
	}
	out[key] = dir
	return out
}

// fingerprint sums what a listing says: each entry's name, type, size and
// time, in name order. A folder whose listing has the fingerprint of a
// folder above it holds itself, as far as anyone can tell: walking it
// would list the same again, without end. An empty listing has none (""):
// a folder above holds at least the one below it.
func fingerprint(entries []control.Entry) string {
	if len(entries) == 0 {
		return ""
	}
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b control.Entry) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	for _, e := range sorted {
		fmt.Fprintf(h, "%q %d %d %d\n", e.Name, e.Type, e.Size, e.ModTime.UnixNano())
	}
	return "listing " + hex.EncodeToString(h.Sum(nil))
}

// leftOut records a source entry left out: a result wrapping ErrLeftOut,
// and a warning event.
func (p *Plan) leftOut(c *Client, url, local string, err error) {
	err = leftOut(err)
	if p.problem != nil {
		p.problem(FileResult{URL: url, Local: local, Err: err})
	} else {
		p.Problems = append(p.Problems, FileResult{URL: url, Local: local, Err: err})
	}
	c.emit(Event{Kind: EventWarning, URL: url, Local: local, Reason: err.Error()})
}
