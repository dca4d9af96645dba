package keepftp

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/keepftp/keepftp/control"
)

// A streamed mirror's deletes (MirrorOptions.Delete).
//
// The walk meets each source folder with the destination's listing of the
// same folder beside it: the destination's names that the source's
// listing did not show go, a folder among them with all it holds, which
// is walked then (goneWalk). What that finds, deletes and keeps in the
// order they are to be done (each folder's after what it held), goes to
// a temporary file (deleteSpill), so that a mirror of any size holds no
// entry per delete, only the folders it is in. After the transfers, and
// only if the source was walked completely and every file was copied, the
// file is read back and done (runDeletes); a dry run hands it out as its
// plan's last actions. The rules are PlanMirror's (planDeletes, keepWhy).

// deleteSpill is the list of a streamed mirror's deletes and keeps, in a
// temporary file that is removed when the mirror ends.
type deleteSpill struct {
	f   *os.File
	w   *bufio.Writer
	enc *gob.Encoder
	// deletes counts the deletes that MaxDelete counts: of the tree's
	// files and folders, not keepftp's temporaries.
	deletes int
	err     error // the first write error: the list is not whole
	readErr error // what stopped reading it back, if anything
}

// spillRecord is one action of a deleteSpill: what is needed to make its
// Action again. gob, not JSON: names are bytes, not always UTF-8.
type spillRecord struct {
	Kind   ActionKind
	Rel    string
	Size   int64
	Dir    bool
	Reason string
	Mtime  time.Time
	Temp   bool
}

func newDeleteSpill() (*deleteSpill, error) {
	f, err := os.CreateTemp("", "keepftp-deletes-*")
	if err != nil {
		return nil, fmt.Errorf("a temporary file for the list of deletes: %w", err)
	}
	w := bufio.NewWriter(f)
	return &deleteSpill{f: f, w: w, enc: gob.NewEncoder(w)}, nil
}

// add writes one action.
func (sp *deleteSpill) add(r spillRecord) {
	if sp.err != nil {
		return
	}
	if r.Kind == ActDelete && !r.Temp {
		sp.deletes++
	}
	if err := sp.enc.Encode(&r); err != nil {
		sp.err = fmt.Errorf("writing the list of deletes: %w", err)
	}
}

// actions reads the list back, in the order it was written.
func (sp *deleteSpill) actions(p *Plan) iter.Seq[*Action] {
	return func(yield func(*Action) bool) {
		if err := sp.w.Flush(); err != nil {
			sp.readErr = err
			return
		}
		if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
			sp.readErr = err
			return
		}
		dec := gob.NewDecoder(bufio.NewReader(sp.f))
		for {
			var r spillRecord
			if err := dec.Decode(&r); err != nil {
				if !errors.Is(err, io.EOF) {
					sp.readErr = fmt.Errorf("reading the list of deletes back: %w", err)
				}
				return
			}
			t := p.remoteTarget(r.Rel)
			a := &Action{Kind: r.Kind, Rel: r.Rel, URL: t.String(), Size: r.Size, Dir: r.Dir, Reason: r.Reason, t: t, mtime: r.Mtime, temp: r.Temp}
			if !r.Temp {
				a.Local = p.localPath(r.Rel)
			}
			if !yield(a) {
				return
			}
		}
	}
}

// close removes the file.
func (sp *deleteSpill) close() {
	sp.f.Close()
	os.Remove(sp.f.Name())
}

// goneFolder is one destination folder below an entry the source does
// not have, listed one level.
type goneFolder struct {
	nodes    []*node          // what the Filter takes, in name order
	temps    map[string]int64 // keepftp's upload temporaries, by name
	listed   bool             // the listing succeeded
	holdsOut bool             // it holds what the walk left out (filtered, unreadable)
}

// goneWalk walks the destination entries the source does not have into
// a deleteSpill.
type goneWalk struct {
	ctx context.Context
	sp  *deleteSpill
	// hidesDots reports whether the source's listing may leave out
	// names that start with a dot (LIST without -a).
	hidesDots func() bool
	// list lists a destination folder below a gone entry.
	list          func(rel string) goneFolder
	entries, dirs int // walked so far, against maxStreamEntries and maxDirs
}

// folder writes the deletes and keeps of one folder of the source: the
// entries of dst, its destination's listing by name, that the source's
// listing of it did not show.
func (g *goneWalk) folder(dst map[string]*node, shown map[string]bool) {
	for _, n := range sortedNodes(dst) {
		if !shown[path.Base(n.rel)] {
			g.entry(n, 0)
		}
	}
}

// entry writes the delete or keep of the destination entry n, which the
// source does not have, after what it holds; kept reports a keep.
func (g *goneWalk) entry(n *node, depth int) (kept bool) {
	mayHave := g.hidesDots() && strings.HasPrefix(path.Base(n.rel), ".")
	listed, holdsOut, holds := true, false, false
	if n.kind == control.Dir && !mayHave {
		listed, holdsOut, holds = g.below(n.rel, depth+1)
	}
	r := spillRecord{Kind: ActDelete, Rel: n.rel, Size: n.size, Dir: n.kind == control.Dir, Reason: reasonNotInSource, Mtime: n.mtime}
	if why := keepWhy(n, mayHave, listed, holdsOut, holds); why != "" {
		r.Kind, r.Reason = ActKeep, why
	}
	g.sp.add(r)
	return r.Kind == ActKeep
}

// below writes the deletes and keeps of what the destination folder rel,
// which goes, holds: its stale temporaries, then each entry. It reports
// whether the folder was listed, holds what the walk left out, and holds
// an entry kept. Past the walk's bounds (a destination that lists
// without end) a folder is not listed: it is kept.
func (g *goneWalk) below(rel string, depth int) (listed, holdsOut, holds bool) {
	if g.ctx.Err() != nil || depth > maxDepth {
		return false, false, false
	}
	if g.dirs++; g.dirs > maxDirs {
		return false, false, false
	}
	f := g.list(rel)
	for _, name := range slices.Sorted(maps.Keys(f.temps)) {
		g.sp.add(spillRecord{Kind: ActDelete, Rel: path.Join(rel, name), Size: f.temps[name], Reason: whyStaleTemp, Temp: true})
	}
	if !f.listed {
		return false, false, false
	}
	for _, n := range f.nodes {
		if g.entries++; g.entries > maxStreamEntries {
			return true, true, holds // the rest is not walked
		}
		if g.entry(n, depth) {
			holds = true
		}
	}
	return true, f.holdsOut, holds
}

// sortedNodes is a listing's nodes in name order.
func sortedNodes(m map[string]*node) []*node {
	out := make([]*node, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[name])
	}
	return out
}
