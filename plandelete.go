package keepftp

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/keepftp/keepftp/control"
)

// The deletes of a plan (MirrorOptions.Delete): what the destination holds
// and the source does not. A delete is the one thing a mirror does that no
// rerun can undo, so each rule below errs on the side of keeping.

// reasonNotInSource is the Reason of a delete of an entry of the tree.
const reasonNotInSource = "not in the source"

// planDeletes adds the deletes and keeps to the plan, after its other
// actions.
//
// An entry of the destination is deleted when the source, listed
// completely, does not have its name (in any form: a file, a folder, a
// link, a name the Filter leaves out) and its folder is a folder of the
// source or is itself deleted. So nothing below a name the source has in
// another form (a file where the destination has a folder) goes. Links
// and other entries that are not files or folders are kept (a link is
// never followed, nor removed), and so is a folder that still holds
// anything after the deletes: a kept entry, a name the Filter leaves out
// or that could not be read, a listing cut short. A name that starts
// with a dot is kept, with what it holds, when the source's listing may
// hide such names (LIST without -a, vsftpd's way). Folders are removed
// empty (rmdir, RMD), after what they held; upload temporaries of
// keepftp's in a folder that goes are removed with it.
func (pl *planner) planDeletes() {
	p := pl.p
	if !p.Options.Delete {
		return
	}
	if !p.SourceComplete {
		p.NoDeletes = noDeletes(len(p.Problems))
		return
	}
	src, dst := pl.src, pl.dst
	// gone: the destination entries the source does not have, in the
	// destination's walk order (a folder before what it holds).
	gone := map[string]bool{}
	mayHave := map[string]bool{} // names the source's listing may have hidden: kept, with what they hold
	var order []*node
	for _, n := range dst.order {
		if src.seen[n.rel] {
			continue
		}
		parent := parentRel(n.rel)
		if sp := src.nodes[parent]; parent != "" && !gone[parent] && (sp == nil || sp.kind != control.Dir || !sp.listed) {
			continue
		}
		order = append(order, n)
		if src.hidesDots && strings.HasPrefix(path.Base(n.rel), ".") {
			mayHave[n.rel] = true
			continue
		}
		gone[n.rel] = true
	}
	if len(order) == 0 {
		return
	}
	// Bottom up: which of them stay, and why.
	keep := map[string]string{}
	holds := map[string]bool{} // folders that hold something kept
	for _, n := range slices.Backward(order) {
		listed := n.kind != control.Dir || n.listed
		if why := keepWhy(n, mayHave[n.rel], listed, dst.holdsOut[n.rel], holds[n.rel]); why != "" {
			keep[n.rel] = why
			holds[parentRel(n.rel)] = true
		}
	}
	// In the walk's order, each folder's delete after what it held.
	var open []*node // folders being deleted, outermost first
	closeTo := func(rel string) {
		for len(open) > 0 && !strings.HasPrefix(rel, open[len(open)-1].rel+"/") {
			d := open[len(open)-1]
			open = open[:len(open)-1]
			p.Actions = append(p.Actions, pl.deleteAction(d, ActDelete, reasonNotInSource))
		}
	}
	for _, n := range order {
		closeTo(n.rel)
		if why, ok := keep[n.rel]; ok && n.kind != control.Dir {
			p.Actions = append(p.Actions, pl.deleteAction(n, ActKeep, why))
			continue
		}
		if n.kind != control.Dir {
			p.Actions = append(p.Actions, pl.deleteAction(n, ActDelete, reasonNotInSource))
			continue
		}
		if why, ok := keep[n.rel]; ok {
			// Kept, and said so before what it holds, which may go.
			p.Actions = append(p.Actions, pl.deleteAction(n, ActKeep, why))
		} else {
			open = append(open, n)
		}
		if gone[n.rel] {
			pl.deleteTemps(n.rel)
		}
	}
	closeTo("\x00") // no rel is below another with a NUL
}

// noDeletes is Plan.NoDeletes of a source whose listing was not complete,
// with leftOut entries left out.
func noDeletes(leftOut int) string {
	return fmt.Sprintf("the source's listing was not complete (%s): a name missing from it may still be there, so nothing is deleted", countNoun(leftOut, "entry left out", "entries left out"))
}

// The reasons --delete keeps a destination entry the source does not
// have.
const (
	whyMayHave   = "the server's listing (LIST) does not show names that start with a dot: the source may have it"
	whyLink      = "a symbolic link: --delete leaves links alone (never followed, never removed)"
	whyOther     = "not a regular file nor a folder: --delete leaves it alone"
	whyNotListed = "a folder that could not be listed: what it holds is not known"
	whyHoldsOut  = "a folder that holds names the filters leave out, or that could not be read"
	whyHolds     = "a folder that holds what is kept"
	whyStaleTemp = "a stale temporary of keepftp, in a folder the source does not have"
)

// keepWhy says why the destination entry n, which the source does not
// have, stays ("" if it goes): mayHave, the source's listing may have
// hidden its name; a folder that was not listed, that holds what the
// walk left out (holdsOut) or holds an entry kept (holds).
func keepWhy(n *node, mayHave, listed, holdsOut, holds bool) string {
	switch {
	case mayHave:
		return whyMayHave
	case n.kind == control.Link:
		return whyLink
	case n.kind != control.File && n.kind != control.Dir:
		return whyOther
	case n.kind == control.Dir && !listed:
		return whyNotListed
	case n.kind == control.Dir && holdsOut:
		return whyHoldsOut
	case n.kind == control.Dir && holds:
		return whyHolds
	}
	return ""
}

// Deletes returns how many deletes the plan holds that MaxDelete counts:
// of the tree's files and folders, not of keepftp's own temporaries.
func (p *Plan) Deletes() int {
	n := p.streamedDeletes
	for _, a := range p.Actions {
		if a.Kind == ActDelete && !a.temp {
			n++
		}
	}
	return n
}

// deleteAction is a delete or keep of the destination entry n.
func (pl *planner) deleteAction(n *node, k ActionKind, why string) Action {
	p := pl.p
	t := p.remoteTarget(n.rel)
	return Action{Kind: k, Rel: n.rel, URL: t.String(), Local: p.localPath(n.rel), Size: n.size, Dir: n.kind == control.Dir,
		Reason: why, t: t, mtime: n.mtime}
}

// deleteTemps deletes the upload temporaries of keepftp's in the remote
// folder rel, which the source does not have: stale, and in the way of
// its RMD.
func (pl *planner) deleteTemps(folder string) {
	temps := pl.dst.temps[folder]
	for _, name := range slices.Sorted(maps.Keys(temps)) {
		rel := path.Join(folder, name)
		t := pl.p.remoteTarget(rel)
		pl.p.Actions = append(pl.p.Actions, Action{Kind: ActDelete, Rel: rel, URL: t.String(), Size: temps[name],
			Reason: whyStaleTemp, t: t, temp: true})
	}
}

// countNoun is "1 entry left out", "3 entries left out".
func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
