package keepftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/transfer"
)

// deletes runs the plan's deletes (ActDelete) after its transfers, and
// says why it keeps what it keeps (ActKeep, a warning each). results are
// how many of the transfers failed.
//
// They are held back, all of them, when the source's listing was not
// complete (Plan.NoDeletes), when the plan left a source entry out, or
// when a transfer failed: a run that did not copy all it should have does
// not delete either (rclone sync does the same after errors). Then one
// result, wrapping ErrNotDeleted, says so. With MaxDelete, the run stops
// before the delete past it, and one result says how many were not done.
//
// A local entry is removed through an os.Root of the top (no path leads
// out of it), and only as it was listed: a file with the same size and
// time, a folder that is still a folder (never a link); a file that
// changed since is kept and reported. A folder goes with rmdir or RMD,
// which remove it only when empty, and is not tried when something it
// held could not be deleted.
func (c *Client) deletes(ctx context.Context, p *Plan, failed int) []FileResult {
	var out []FileResult
	acts := func(yield func(*Action) bool) {
		for i := range p.Actions {
			if a := &p.Actions[i]; (a.Kind == ActDelete || a.Kind == ActKeep) && !yield(a) {
				return
			}
		}
	}
	c.runDeletes(ctx, p, heldBack(p.NoDeletes, len(p.Problems), failed), p.Deletes(), acts, func(r FileResult) { out = append(out, r) })
	return out
}

// runDeletes does deletes and keeps in order, each result handed to out:
// a plan's, or a streamed mirror's (streamdelete.go). total is how many
// of them MaxDelete counts. With why not "", they are held back: one
// result says so, if there was anything to hold back.
func (c *Client) runDeletes(ctx context.Context, p *Plan, why string, total int, acts iter.Seq[*Action], out func(FileResult)) {
	if why != "" {
		any := p.NoDeletes != ""
		for a := range acts {
			if a.Kind == ActDelete {
				any = true
				break
			}
		}
		if any {
			out(c.notDeleted(p, why))
		}
		return
	}
	d := &deleter{c: c, p: p, failedBelow: map[string]bool{}}
	defer d.close()
	done := 0
	for a := range acts {
		if ctx.Err() != nil {
			break
		}
		if a.Kind == ActKeep {
			c.emit(Event{Kind: EventWarning, URL: a.URL, Local: a.local(p), Reason: "not deleted: " + a.Reason})
			continue
		}
		if !a.temp && p.Options.MaxDelete > 0 && done == p.Options.MaxDelete {
			out(c.notDeleted(p, fmt.Sprintf("the limit of %d deletes was reached (MaxDelete, --max-delete): %s of %d not deleted", p.Options.MaxDelete, countNoun(total-done, "entry", "entries"), total)))
			break
		}
		if !a.temp {
			done++
		}
		r := FileResult{URL: a.URL, Local: a.local(p), Delete: true, Reason: a.Reason, Outcome: Outcome{Size: max(a.Size, 0)}}
		if a.Dir && d.failedBelow[a.Rel] {
			r.Err = errors.New("not deleted: not all it held could be deleted")
		} else {
			r.Err = d.delete(ctx, a)
		}
		if r.Err != nil {
			for rel := a.Rel; rel != ""; {
				rel = parentRel(rel)
				d.failedBelow[rel] = true
			}
			c.emit(Event{Kind: EventError, URL: r.URL, Local: r.Local, Reason: r.Err.Error()})
		} else {
			c.emit(Event{Kind: EventDelete, URL: r.URL, Local: r.Local, Size: r.Outcome.Size, Reason: a.Reason})
		}
		out(r)
	}
}

// heldBack says why a run deletes nothing, "" if it may: noDeletes (the
// source's listing was not complete), leftOut source entries, failed
// transfers.
func heldBack(noDeletes string, leftOut, failed int) string {
	if noDeletes != "" {
		return noDeletes
	}
	if leftOut > 0 {
		return fmt.Sprintf("%s of the source (a run that did not copy all deletes nothing)", countNoun(leftOut, "entry was left out", "entries were left out"))
	}
	if failed > 0 {
		return fmt.Sprintf("%s (a run that did not copy all deletes nothing)", countNoun(failed, "file failed", "files failed"))
	}
	return ""
}

// notDeleted is the result, and the warning, of deletes held back.
func (c *Client) notDeleted(p *Plan, why string) FileResult {
	err := fmt.Errorf("%w: %s", ErrNotDeleted, why)
	local := ""
	if p.Direction == ToLocal {
		local = p.Dir
	}
	c.emit(Event{Kind: EventWarning, URL: p.URL, Local: local, Reason: err.Error()})
	return FileResult{URL: p.URL, Local: local, Delete: true, Err: err}
}

// local is the local name an action of the destination side stands
// for: the local entry of a download, none for an upload.
func (a *Action) local(p *Plan) string {
	if p.Direction == ToLocal {
		return a.Local
	}
	return ""
}

// deleter deletes on one side: through an os.Root of the local top, or
// over one pooled connection.
type deleter struct {
	c    *Client
	p    *Plan
	root *os.Root
	conn *control.Conn
	// failedBelow holds the folders below which a delete failed (they
	// cannot be empty).
	failedBelow map[string]bool
}

func (d *deleter) close() {
	if d.root != nil {
		d.root.Close()
	}
	if d.conn != nil {
		d.c.pool.Release(d.conn, d.conn.Err() == nil)
	}
}

func (d *deleter) delete(ctx context.Context, a *Action) error {
	if d.p.Direction == ToLocal {
		return d.deleteLocal(a)
	}
	return d.deleteRemote(ctx, a)
}

// deleteLocal removes a local file or an empty folder, as listed.
func (d *deleter) deleteLocal(a *Action) error {
	if d.root == nil {
		root, err := os.OpenRoot(d.p.Dir)
		if err != nil {
			return &transfer.LocalError{Err: err}
		}
		d.root = root
	}
	rel := filepath.FromSlash(a.Rel)
	st, err := d.root.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // gone already
	case err != nil:
		return &transfer.LocalError{Err: err}
	case a.Dir && !st.IsDir():
		return fmt.Errorf("not deleted: %s is no longer a folder", a.Local)
	case !a.Dir && (!st.Mode().IsRegular() || st.Size() != a.Size || !st.ModTime().Equal(a.mtime)):
		return fmt.Errorf("not deleted: %s changed since it was listed", a.Local)
	}
	// Remove takes an empty folder only, and a name itself: were it a
	// link by now, the link, never what it leads to.
	if err := d.root.Remove(rel); err != nil {
		return &transfer.LocalError{Err: err}
	}
	return nil
}

// deleteRemote removes a remote file (DELE) or an empty folder (RMD),
// under the transfers' retry policy, again on a fresh connection when the
// failure may pass.
func (d *deleter) deleteRemote(ctx context.Context, a *Action) error {
	return resume.Retry(ctx, "delete "+a.URL, d.c.options(a.t, ""), func(ctx context.Context) error {
		if d.conn == nil {
			var err error
			if d.conn, err = d.c.pool.Conn(ctx, d.p.root); err != nil {
				return err
			}
		}
		var err error
		if a.Dir {
			err = d.conn.RemoveDir(ctx, a.t.Path)
		} else {
			err = d.conn.Delete(ctx, a.t.Path)
		}
		if err != nil && !control.IsPermanent(err) {
			d.c.pool.Release(d.conn, d.conn.Err() == nil)
			d.conn = nil
		}
		return err // a reply's error names the command and the path
	})
}
