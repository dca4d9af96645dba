package keepftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/transfer"
)

// walkLocal walks the local tree below p's top, one side of a mirror: the
// source of an upload, the destination of a download. It goes through an
// os.Root, so no path, symbolic links included, leads out of the top.
//
// On the source side, a symbolic link is followed only to a regular file
// inside the top (uploaded as that file); one that leads out of the top,
// nowhere, or to a folder is left out, like names that cannot be remote
// names (CR, LF, NUL) and keepftp's own names (StagingDir at the top,
// upload temporaries). On the destination side, StagingDir at the top is
// keepftp's and not walked; a missing top is an empty tree.
func walkLocal(ctx context.Context, c *Client, p *Plan, source bool) (*tree, error) {
	return walkLocalWith(ctx, c, p, source, nil, nil)
}

// walkLocalWith is walkLocal that, with visit set, hands each entry to
// visit in walk order instead of keeping it in the tree (a streamed
// mirror: see mirrorupstream.go), and each name it is shown to saw, if
// set, instead of the tree's seen.
func walkLocalWith(ctx context.Context, c *Client, p *Plan, source bool, visit func(n *node), saw func(rel string)) (*tree, error) {
	tr := newTree()
	if visit != nil {
		tr = newStreamTree()
	}
	root, err := os.OpenRoot(p.Dir)
	if err != nil {
		if !source && errors.Is(err, fs.ErrNotExist) {
			tr.topMissing = true
			return tr, nil
		}
		return nil, &transfer.LocalError{Err: err}
	}
	defer root.Close()
	problem := func(rel string, err error) {
		tr.complete = false
		url := p.remoteTarget(rel).String()
		if !source {
			c.emit(Event{Kind: EventWarning, URL: url, Local: p.localPath(rel), Reason: "destination: " + err.Error()})
			return
		}
		p.leftOut(c, url, p.localPath(rel), err)
	}
	err = fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if rel == "." {
			return err // a top that cannot be read fails the walk
		}
		if visit == nil {
			tr.seen[rel] = true
		} else if saw != nil {
			saw(rel)
		}
		if err != nil {
			tr.leftOut(rel)
			problem(rel, err)
			if n := tr.nodes[rel]; n != nil {
				n.listed = false
			}
			return nil // WalkDir goes on with the next entry
		}
		if ok, first := tr.count(); !ok {
			if first {
				problem(path.Dir(rel), fmt.Errorf("more than %d entries in the tree: the rest is not walked", tr.limit))
			}
			tr.leftOut(rel)
			return fs.SkipAll
		}
		name, top := d.Name(), path.Dir(rel) == "."
		skip := func(err error) error {
			tr.leftOut(rel)
			if source {
				problem(rel, err)
			}
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case top && name == StagingDir:
			return skip(fmt.Errorf("the name %q is where keepftp keeps its partial files", name))
		case source && control.CheckArg("name", name) != nil:
			// The URL shows the name percent-encoded: its control
			// bytes reach no terminal, no log, no server.
			return skip(fmt.Errorf("%w: %q cannot be a remote name (CR, LF or NUL)", ErrUnsafeName, name))
		case source && resume.IsUploadPart(name):
			return skip(fmt.Errorf("the name %q has the form of keepftp's upload temporaries", name))
		}
		n := &node{rel: rel, kind: control.Other, size: -1, unit: time.Nanosecond, listed: true}
		switch {
		case d.IsDir():
			n.kind = control.Dir
		case d.Type()&fs.ModeSymlink != 0 && source:
			st, err := root.Stat(rel) // follows the link, within the top only
			switch {
			case err != nil:
				return skip(fmt.Errorf("a symbolic link that leads out of the folder, or nowhere, is not followed: %w", err))
			case st.IsDir():
				return skip(errors.New("a symbolic link to a folder is not followed"))
			case !st.Mode().IsRegular():
				return skip(errors.New("a symbolic link to something that is not a regular file"))
			}
			n.kind, n.size, n.mtime = control.File, st.Size(), st.ModTime()
		case d.Type()&fs.ModeSymlink != 0:
			n.kind = control.Link
		case d.Type().IsRegular():
			st, err := d.Info()
			if err != nil {
				return skip(err)
			}
			n.kind, n.size, n.mtime = control.File, st.Size(), st.ModTime()
		case source:
			return skip(errors.New("not a regular file"))
		}
		if !c.takes(rel, n.kind == control.Dir, n.size, n.mtime) {
			tr.leftOut(rel)
			if n.kind == control.Dir {
				return fs.SkipDir // left out by Options.Filter, with all it holds
			}
			return nil
		}
		if visit != nil {
			visit(n)
		} else {
			tr.add(n)
		}
		return nil
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, &transfer.LocalError{Err: err}
	}
	return tr, nil
}
