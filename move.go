package keepftp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keepftp/keepftp/resume"
)

// ErrNotRemoved reports a copy that was made and verified, but whose
// source could not be removed (Options.RemoveSource): the server refused
// the DELE, or the local file could not be removed. It is never
// NotFound: a 550 to DELE is a refusal (Permanent).
var ErrNotRemoved = errors.New("the source was not removed")

// source is the file a copy was made from, as removeSource needs it.
type source struct {
	remote bool          // the source is t, on the server (a download); else local (an upload)
	t      resume.Target // the remote file
	local  string        // the local file
	// before is the local source as it was when its upload began (uploads
	// only): a file that changed while it was sent is not the file that
	// was verified.
	before os.FileInfo
}

// downloadSource and uploadSource are the sources of a download to local
// and of an upload from it.
func downloadSource(t resume.Target, local string) source {
	return source{remote: true, t: t, local: local}
}

func (c *Client) uploadSource(local string, t resume.Target) source {
	s := source{t: t, local: local}
	if c.o.RemoveSource {
		s.before, _ = os.Stat(local) // nil if it cannot be read: the upload will say why
	}
	return s
}

// removeSource makes r's copy a move when Options.RemoveSource asks for
// it: it removes the source of a copy that was verified, and nothing
// else. It is the one place that decides, for get, put and mirror in
// either direction.
//
// Never removed: a failed copy (r.Err set); one a mirror skipped as up to
// date (r.Skipped: nothing compared the two files in this run, so nothing
// shows they are the same; a rerun of a move whose removal failed leaves
// that source in place, and says nothing more); one that nothing could
// verify (Outcome.Verified NotVerified: the server gave no size and no
// hash), which gets a warning; a download to something that is not a
// regular file (standard output, /dev/null), or whose file now has
// another size than the copy had; an upload whose local file changed
// (size or time) since its upload began. When ctx is done, nothing more
// is removed.
//
// Before a remote source is removed, the downloaded file and its folder
// are synced to disk (the download's commit did so already; this makes
// the removal's own guarantee, whatever made the file). A remote source is
// removed with DELE, a local one with os.Remove. A removal that fails
// leaves the copy as it is and makes the result an error that says so: a
// move that did not remove its source did not do what was asked.
func (c *Client) removeSource(ctx context.Context, s source, r *FileResult) {
	if !c.o.RemoveSource || r.Err != nil || r.Skipped || ctx.Err() != nil {
		return
	}
	name := r.URL
	if !s.remote {
		name = s.local
	}
	if how := r.Outcome.Verified; how == "" || how == NotVerified {
		c.keepSource(r, name, "nothing verified the copy (the server gave no size and no hash)")
		return
	}
	var err error
	if s.remote {
		if why := syncedCopy(s.local, r.Outcome.Size); why != "" {
			c.keepSource(r, name, why)
			return
		}
		err = c.deleteRemote(ctx, s.t)
	} else {
		if why := unchangedSince(s.local, s.before, r.Outcome.Size); why != "" {
			c.keepSource(r, name, why)
			return
		}
		err = os.Remove(s.local)
	}
	if err != nil {
		r.Err = fmt.Errorf("copied and verified, but %w: %s: %w", ErrNotRemoved, name, err)
		c.warn(r, r.Err.Error())
		return
	}
	r.Removed = true
	side := "the local source"
	if s.remote {
		side = "the remote source"
	}
	c.emit(Event{Kind: EventRemoved, URL: r.URL, Local: r.Local, Size: r.Outcome.Size,
		Reason: fmt.Sprintf("%s, after the copy was checked by %s", side, r.Outcome.Verified)})
}

// keepSource says why a source stays.
func (c *Client) keepSource(r *FileResult, name, why string) {
	c.warn(r, fmt.Sprintf("%s is kept: %s", name, why))
}

// warn logs a warning about r's file and emits it as an event.
func (c *Client) warn(r *FileResult, msg string) {
	c.logf("warning: %s", msg)
	c.emit(Event{Kind: EventWarning, URL: r.URL, Local: r.Local, Reason: msg})
}

// syncedCopy checks that a downloaded file is a regular file of size
// bytes, and syncs it and its folder to disk. It returns why not, or "".
func syncedCopy(local string, size int64) string {
	if local == "" {
		return "the copy went to standard output, not to a file"
	}
	// Looked at before it is opened (opening a FIFO waits for a writer);
	// through a link, the file and the folder synced are the target's.
	d, err := resume.LocalDest(local)
	switch {
	case err != nil:
		return fmt.Sprintf("the copy cannot be looked at (%v)", err)
	case d.Stream != "":
		return fmt.Sprintf("the copy went to %s, not to a file", d.Stream)
	}
	local = d.Path
	f, err := os.Open(local)
	if err != nil {
		return fmt.Sprintf("the copy cannot be opened (%v)", err)
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return fmt.Sprintf("the copy cannot be read (%v)", err)
	case !st.Mode().IsRegular():
		return "the copy is not a regular file (" + st.Mode().Type().String() + ")"
	case st.Size() != size:
		return fmt.Sprintf("the copy now has %d bytes, not the %d that were verified", st.Size(), size)
	}
	if err := f.Sync(); err != nil {
		return fmt.Sprintf("the copy could not be synced to disk (%v)", err)
	}
	if err := syncDir(filepath.Dir(local)); err != nil {
		return fmt.Sprintf("the copy's folder could not be synced to disk (%v)", err)
	}
	return ""
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// unchangedSince checks that an uploaded local file is still the one that
// was sent: the same size and time as before the upload, and the size
// verified. It returns why not, or "".
func unchangedSince(local string, before os.FileInfo, size int64) string {
	if before == nil {
		return "it could not be looked at before the upload"
	}
	now, err := os.Stat(local)
	switch {
	case err != nil:
		return fmt.Sprintf("it cannot be looked at (%v)", err)
	case !now.Mode().IsRegular():
		return "it is not a regular file"
	case now.Size() != before.Size() || !now.ModTime().Equal(before.ModTime()) || now.Size() != size:
		return "it changed while it was uploaded"
	}
	return ""
}

// deleteRemote removes a remote file. A failure that may pass (a dropped
// connection) is tried once more, on a fresh connection: a DELE whose
// reply was lost may have been done, and then the second one answers 550,
// which is reported as it is.
func (c *Client) deleteRemote(ctx context.Context, t resume.Target) error {
	var err error
	for range 2 {
		conn, cerr := c.pool.Conn(ctx, t)
		if cerr != nil {
			err = cerr
		} else {
			err = conn.Delete(ctx, t.Path)
			c.pool.Release(conn, conn.Err() == nil)
		}
		if err == nil || ctx.Err() != nil || resume.Classify(err) != resume.Transient {
			break
		}
	}
	return err
}
