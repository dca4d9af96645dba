package keepftp

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
)

// download plans a mirror from the server's tree to the local folder.
func (pl *planner) download() error {
	p := pl.p
	src, err := pl.c.walkRemote(pl.ctx, p, true)
	if err != nil {
		return err
	}
	dst, err := walkLocal(pl.ctx, pl.c, p, false)
	if err != nil {
		return err
	}
	pl.src, pl.dst = src, dst
	p.SourceComplete = src.complete
	pl.compareAll(src)
	stage := newStaging(p.Dir)
	blocked := map[string]bool{} // local names a mirror leaves alone, with what is below them
	for _, n := range src.order {
		if blocked[parentRel(n.rel)] {
			blocked[n.rel] = true
			continue
		}
		a := Action{Rel: n.rel, URL: p.remoteTarget(n.rel).String(), Local: p.localPath(n.rel), Size: n.size, t: p.remoteTarget(n.rel), known: n.known}
		if d := dst.nodes[n.rel]; d != nil && (d.kind == control.Link || d.kind == control.Other) {
			// Neither followed (it could lead out of the folder) nor
			// replaced: a mirror writes only regular files and folders.
			blocked[n.rel] = true
			p.leftOut(pl.c, a.URL, a.Local, notRegular(a.Local))
			continue
		}
		if n.kind == control.Dir {
			if d := dst.nodes[n.rel]; d == nil || d.kind != control.Dir {
				a.Kind, a.Reason, a.Dir = ActMkdir, "missing", true
				p.Actions = append(p.Actions, a)
			}
			continue
		}
		a.Kind = ActTransfer
		skip, why := pl.decide(n, dst.nodes[n.rel])
		switch part, _ := stage.files(filepath.FromSlash(n.rel)); {
		case skip:
			a.Kind = ActSkip
		case hasData(part):
			why = "partial to resume"
		}
		a.Reason = why
		p.Actions = append(p.Actions, a)
	}
	return nil
}

// hasData reports whether a local file exists and is not empty.
func hasData(name string) bool {
	st, err := os.Stat(name)
	return err == nil && st.Size() > 0
}

// upload plans a mirror from the local folder to the server's tree.
func (pl *planner) upload() error {
	p := pl.p
	src, err := walkLocal(pl.ctx, pl.c, p, true)
	if err != nil {
		return err
	}
	dst, err := pl.c.walkRemote(pl.ctx, p, false)
	if err != nil {
		return err
	}
	pl.src, pl.dst = src, dst
	p.SourceComplete = src.complete
	pl.noTimes = pl.c.times.noTimes(p.root)
	if dst.topMissing || len(dst.order) == 0 {
		// A missing top may also list as empty: MKD costs little, and
		// refused (it exists) it is no error.
		p.Actions = append(p.Actions, Action{Kind: ActMkdir, URL: p.root.String(), Local: p.Dir, Size: -1, Dir: true, Reason: "missing", t: p.root})
	}
	pl.compareAll(src)
	expected := map[string]bool{} // the temporaries of the files uploaded
	for _, n := range src.order {
		t := p.remoteTarget(n.rel)
		a := Action{Rel: n.rel, URL: t.String(), Local: p.localPath(n.rel), Size: n.size, t: t}
		if n.kind == control.Dir {
			if d := dst.nodes[n.rel]; d == nil || d.kind != control.Dir {
				a.Kind, a.Reason, a.Dir = ActMkdir, "missing", true
				p.Actions = append(p.Actions, a)
			}
			continue
		}
		skip, why := pl.decide(n, dst.nodes[n.rel])
		a.Kind, a.Reason = ActTransfer, why
		if skip {
			a.Kind = ActSkip
			p.Actions = append(p.Actions, a)
			continue
		}
		folder, part := parentRel(n.rel), path.Base(resume.UploadPartName(t.Path, n.size, n.mtime))
		switch size, ok := dst.temps[folder][part]; {
		case pl.c.o.Inplace:
			// Written to its final name: its temporary, if any, is stale.
		case ok:
			a.part, a.Reason = &resume.Remote{Size: size}, "partial to resume"
			expected[path.Join(folder, part)] = true
		case dst.folderListed(folder) && !dst.hidesDots:
			a.part = &resume.Remote{Size: -1} // none there: no need to ask
		}
		p.Actions = append(p.Actions, a)
	}
	// The other temporaries in the folders this mirror writes are stale:
	// left by an older version of a file, or a file no longer here.
	folders := make([]string, 0, len(dst.temps))
	for folder := range dst.temps {
		folders = append(folders, folder)
	}
	slices.Sort(folders)
	for _, folder := range folders {
		if n := src.nodes[folder]; folder != "" && (n == nil || n.kind != control.Dir) {
			continue // not a folder of the source: not this mirror's
		}
		names := make([]string, 0, len(dst.temps[folder]))
		for name := range dst.temps[folder] {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			rel := path.Join(folder, name)
			if expected[rel] {
				continue
			}
			t := p.remoteTarget(rel)
			p.Actions = append(p.Actions, Action{Kind: ActCleanup, Rel: rel, URL: t.String(), Size: dst.temps[folder][name],
				Reason: "a stale temporary of keepftp: an upload of an older version of a file, or of a file no longer in the source", t: t})
		}
	}
	return nil
}

// parentRel is the folder of rel, "" for the top.
func parentRel(rel string) string {
	if d := path.Dir(rel); d != "." {
		return d
	}
	return ""
}

// pair is a source file and the destination file of the same name.
type pair struct{ src, dst *node }

// compareAll gathers, before the decisions, the facts they need that the
// listings did not give (compare), for the whole source tree at once.
func (pl *planner) compareAll(src *tree) {
	pl.compare(src.order, func(rel string) *node { return pl.dst.nodes[rel] })
}

// compare gathers, before the decisions on srcs, the facts they need that
// the listings did not give: the times of LIST entries whose sizes match
// their destination's (by MDTM, pipelined), and, with Checksum, the
// hashes of files whose sizes match.
func (pl *planner) compare(srcs []*node, dst func(rel string) *node) {
	var same []pair
	for _, n := range srcs {
		if d := dst(n.rel); n.kind == control.File && d != nil && d.kind == control.File && n.size >= 0 && n.size == d.size {
			same = append(same, pair{n, d})
		}
	}
	if len(same) == 0 || pl.ctx.Err() != nil {
		return
	}
	pl.refineTimes(same)
	if pl.p.Options.Checksum {
		pl.checksums(same)
	}
}

// decideFolder decides the pending files of one folder in order, once
// compare has gathered what the listings did not give, and empties
// pending: a streamed mirror's step (mirrorstream.go, mirrorupstream.go).
func (pl *planner) decideFolder(pending *[]*node, dst func(rel string) *node, decide func(*node)) {
	if len(*pending) == 0 {
		return
	}
	pl.compare(*pending, dst)
	for _, n := range *pending {
		decide(n)
	}
	pl.sums = nil
	clear(*pending)
	*pending = (*pending)[:0]
}

// remoteOf returns the remote node of a pair.
func (pl *planner) remoteOf(pr pair) *node {
	if pl.p.Direction == ToLocal {
		return pr.src
	}
	return pr.dst
}

// refineTimes asks MDTM of the remote files whose listing gave a time
// coarser than the second (LIST), written together in groups.
func (pl *planner) refineTimes(same []pair) {
	var nodes []*node
	var paths []string
	for _, pr := range same {
		if r := pl.remoteOf(pr); r.unit > time.Second {
			nodes = append(nodes, r)
			paths = append(paths, pl.p.remoteTarget(r.rel).Path)
		}
	}
	if len(paths) == 0 {
		return
	}
	conn, err := pl.c.pool.Conn(pl.ctx, pl.p.root)
	if err != nil {
		return // the LIST times stand
	}
	sts, err := conn.ModTimes(pl.ctx, paths...)
	pl.c.pool.Release(conn, conn.Err() == nil)
	if err != nil {
		pl.c.logf("MDTM of %d files: %v: comparing the listing's times, to the minute", len(paths), err)
	}
	for i, st := range sts {
		if st.ModTimeErr == nil && resume.UsableTime(st.ModTime) {
			nodes[i].mtime, nodes[i].unit = st.ModTime, time.Second
		}
	}
}

// checksumAlgos are the hashes --checksum compares with, strongest first.
var checksumAlgos = []string{control.SHA256, control.SHA1, control.MD5}

// checksums compares the hashes of the pairs: the server's through HASH
// or an X command, the local file's here. Where the server offers no
// usable hash, a warning says so once and size and time decide.
func (pl *planner) checksums(same []pair) {
	if pl.noHash {
		return // said once: a streamed mirror asks folder by folder
	}
	conn, err := pl.c.pool.Conn(pl.ctx, pl.p.root)
	if err != nil {
		pl.noHash = true
		pl.c.warnf(pl.p.URL, "--checksum: no connection to ask the server's hashes (%v): size and time decide", err)
		return
	}
	defer func() { pl.c.pool.Release(conn, conn.Err() == nil) }()
	algo := ""
	for _, a := range conn.HashAlgos() {
		if slices.Contains(checksumAlgos, a) {
			algo = a
			break
		}
	}
	if algo == "" {
		pl.noHash = true
		pl.c.warnf(pl.p.URL, "--checksum: the server offers no HASH or XSHA256 (nor XSHA1, XMD5): up to date means the same size and time")
		return
	}
	pl.sums = map[string]verdict{}
	for _, pr := range same {
		if pl.ctx.Err() != nil {
			return
		}
		remote, err := conn.Hash(pl.ctx, algo, pl.p.remoteTarget(pr.src.rel).Path)
		if err != nil {
			pl.c.warnf(pl.p.remoteTarget(pr.src.rel).String(), "--checksum: the server could not hash it (%v): size and time decide", err)
			continue
		}
		local, err := pl.localHash(pr.src.rel, algo)
		if err != nil {
			pl.c.warnf(pl.p.localPath(pr.src.rel), "--checksum: %v: size and time decide", err)
			continue
		}
		if local == remote {
			pl.sums[pr.src.rel] = verdict{true, "up to date: same size and " + algo}
		} else {
			pl.sums[pr.src.rel] = verdict{false, algo + " differs"}
		}
	}
}

// localHash hashes the local file rel, read through an os.Root like the
// rest of the local side.
func (pl *planner) localHash(rel, algo string) (string, error) {
	root, err := os.OpenRoot(pl.p.Dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		return "", err
	}
	defer f.Close()
	return resume.HashReader(io.Reader(f), algo)
}

// decide says whether the destination file dst (nil: none) is up to date
// with the source file src, and why: which rule, or what differs.
func (pl *planner) decide(src, dst *node) (upToDate bool, why string) {
	switch {
	case dst == nil:
		return false, "missing"
	case dst.kind != control.File:
		return false, "not a file at the destination"
	case src.size < 0 || dst.size < 0:
		return false, "the size is not known"
	case src.size != dst.size:
		return false, fmt.Sprintf("size differs: %d at the source, %d at the destination", src.size, dst.size)
	}
	if v, ok := pl.sums[src.rel]; ok {
		return v.upToDate, v.why
	}
	if src.mtime.IsZero() || dst.mtime.IsZero() {
		return true, "up to date: same size (no time to compare)"
	}
	unit := max(src.unit, dst.unit)
	st, dt := src.mtime.Truncate(unit), dst.mtime.Truncate(unit)
	precision := "to the second"
	if unit >= time.Minute {
		precision = "to the minute: the listing gives no seconds"
	}
	switch {
	case pl.p.Direction == ToServer && pl.noTimes && !dt.Before(st):
		return true, "up to date: same size, and the server's time is not older than the local file's (the server takes no file time)"
	case pl.p.Direction == ToServer && pl.noTimes:
		return false, "newer at the source"
	case st.Equal(dt):
		return true, "up to date: same size and time (" + precision + ")"
	case st.After(dt):
		return false, "newer at the source"
	}
	return false, "older at the source (times differ)"
}

// notRegular says why a mirror leaves a local name alone: it is not a
// regular file nor a folder. A symbolic link is not followed (it could
// lead out of the folder) nor replaced; a device, a FIFO or a socket is
// never replaced, and a mirror does not pour files into one.
func notRegular(local string) error {
	if st, err := os.Lstat(local); err == nil && st.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("local %s is a symbolic link: a mirror does not follow local links, nor replace them", local)
	}
	if d, err := resume.LocalDest(local); err == nil && d.Stream != "" {
		return fmt.Errorf("local %s is %s: a mirror writes only regular files, and leaves it as it is", local, d.Stream)
	}
	return fmt.Errorf("local %s is not a regular file nor a folder: a mirror leaves it as it is", local)
}
