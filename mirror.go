package keepftp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
)

// ErrUnsafeName reports a remote name that cannot be a local path
// component (see SafeName): a hostile listing's "../x" is refused, never
// followed.
var ErrUnsafeName = errors.New("unsafe remote name")

func errUnsafeName(name string) error { return fmt.Errorf("%w %q", ErrUnsafeName, name) }

// maxDepth bounds a mirror's recursion: a server that lists a directory
// inside itself forever must not keep us.
const maxDepth = 64

// Mirror copies the remote directory tree at rawURL into the local
// directory dir, par files at a time. Files whose local copy already has
// the remote size and modification time are skipped; partial downloads
// resume. Symbolic links are not followed. It returns one result per file.
func (c *Client) Mirror(ctx context.Context, rawURL, dir string, par int) ([]FileResult, error) {
	root, err := c.parse(rawURL)
	if err != nil {
		return nil, err
	}
	type file struct {
		t     resume.Target
		local string
		e     control.Entry
	}
	var files []file
	var results []FileResult
	var walk func(t resume.Target, local string, depth int) error
	walk = func(t resume.Target, local string, depth int) error {
		if depth > maxDepth {
			return fmt.Errorf("%s: deeper than %d levels", t, maxDepth)
		}
		entries, err := c.list(ctx, t)
		if err != nil {
			return err
		}
		for _, e := range entries {
			child := t
			child.Path = path.Join(t.Path, e.Name)
			if !SafeName(e.Name) {
				results = append(results, FileResult{URL: child.String(), Err: errUnsafeName(e.Name)})
				c.emit(Event{Kind: "error", URL: child.String(), Reason: errUnsafeName(e.Name).Error()})
				continue
			}
			lp := filepath.Join(local, e.Name)
			switch e.Type {
			case control.Dir:
				if err := walk(child, lp, depth+1); err != nil {
					return err
				}
			case control.File:
				files = append(files, file{t: child, local: lp, e: e})
			}
		}
		return nil
	}
	if err := walk(root, dir, 0); err != nil {
		return results, err
	}
	out := make([]FileResult, len(files))
	started := forEach(ctx, len(files), par, func(i int) {
		f := files[i]
		r := FileResult{URL: f.t.String(), Local: f.local}
		if upToDate(f.local, f.e) {
			r.Skipped = true
			r.Outcome.Size = f.e.Size
			c.emit(Event{Kind: "skip", URL: r.URL, Local: r.Local, Size: f.e.Size})
		} else if err := os.MkdirAll(filepath.Dir(f.local), 0o755); err != nil {
			r.Err = err
		} else {
			r.Outcome, r.Err = c.get(ctx, f.t, f.local)
		}
		out[i] = r
	})
	for i := started; i < len(files); i++ {
		out[i] = FileResult{URL: files[i].t.String(), Local: files[i].local, Err: ctx.Err()}
	}
	return append(results, out...), ctx.Err()
}

// upToDate reports whether the local file matches a remote entry: same
// size, and the same time where the listing gives one (to the minute for
// LIST, whose times have no seconds).
func upToDate(local string, e control.Entry) bool {
	st, err := os.Stat(local)
	if err != nil || !st.Mode().IsRegular() || e.Size < 0 || st.Size() != e.Size {
		return false
	}
	if e.ModTime.IsZero() {
		return true
	}
	lt, rt := st.ModTime().UTC(), e.ModTime.UTC()
	if e.Facts == nil {
		lt, rt = lt.Truncate(time.Minute), rt.Truncate(time.Minute)
	} else {
		lt, rt = lt.Truncate(time.Second), rt.Truncate(time.Second)
	}
	return lt.Equal(rt)
}
