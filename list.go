package keepftp

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
)

// List returns the entries of the remote directory at rawURL (MLSD, or
// LIST where the server has no MLSD). Names are as the server sent them:
// see SafeName before using one as a local path. A listing that fails
// for a reason that may pass is tried again under the retry policy, as a
// transfer is.
func (c *Client) List(ctx context.Context, rawURL string) ([]Entry, error) {
	t, err := c.parse(rawURL)
	if err != nil {
		return nil, err
	}
	entries, err := c.listRetrying(ctx, t)
	return entriesOf(entries), err
}

// ListFunc is List as a stream, for a listing of any length in bounded
// memory: fn is called for each entry as its line arrives, in the
// server's order, and with a zero Entry and an error wrapping
// ErrBadListing for a line that cannot be parsed (the error names the
// line: return nil to go on with the others). An error fn returns stops
// the listing, and ListFunc returns it, wrapped. fn may have been called
// for entries of a listing that then fails.
func (c *Client) ListFunc(ctx context.Context, rawURL string, fn func(e Entry, err error) error) error {
	t, err := c.parse(rawURL)
	if err != nil {
		return err
	}
	conn, err := c.pool.Conn(ctx, t)
	if err != nil {
		return err
	}
	err = conn.ListFunc(ctx, t.Path, func(e control.Entry, err error) error { return fn(entryOf(e), err) })
	c.pool.Release(conn, conn.Err() == nil)
	if err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	return nil
}

func (c *Client) list(ctx context.Context, t resume.Target) ([]control.Entry, error) {
	entries, _, err := c.listWith(ctx, t, false, false)
	return entries, err
}

// listWith lists t; with hidden, names starting with a dot too where the
// server hides them from LIST (control.Conn.ListHidden). all reports
// whether the listing shows them (MLSD, or LIST -a). With check, a LIST that may stand for a
// folder the server could not read is checked (checkListed): a tree's
// walk must not take it for the folder's content.
func (c *Client) listWith(ctx context.Context, t resume.Target, hidden, check bool) (entries []control.Entry, all bool, err error) {
	conn, err := c.pool.Conn(ctx, t)
	if err != nil {
		return nil, false, err
	}
	if hidden {
		entries, all, err = conn.ListHidden(ctx, t.Path)
	} else {
		entries, err = conn.List(ctx, t.Path)
		all, _ = conn.MLSD() // MLSD shows every name; LIST may hide those with a dot
	}
	if err == nil && check {
		if err = checkListed(ctx, conn, t.Path, entries); err != nil {
			entries = nil
		}
	}
	c.pool.Release(conn, conn.Err() == nil)
	if err != nil {
		// A listing with bad lines comes with the entries of the good ones.
		return entries, all, fmt.Errorf("list %s: %w", t, err)
	}
	return entries, all, nil
}

// errUnreadable marks a folder the server answered LIST for but could not
// read: its listing is not what it holds.
var errUnreadable = errors.New("the server cannot read the folder")

// checkListed asks, after a LIST of dir that came back empty or holding
// only a folder named like dir itself, whether the server can enter dir
// (CWD). Real servers answer LIST for a folder they may not read as if
// all was well: proftpd and pure-ftpd with an empty listing and 226,
// vsftpd with one line for the folder itself (it lists what it cannot
// open as a file), where MLSD answers 550 (docs/servers.md). Taken as the
// folder's content, such a listing would make a mirror --delete remove
// the copy of everything below (FluentFTP #1580). A 550 to CWD makes it
// an error wrapping errUnreadable and the 550 (not tried again); any
// other answer leaves the listing as it is (a server without CWD says
// nothing either way).
func checkListed(ctx context.Context, conn *control.Conn, dir string, entries []control.Entry) error {
	if mlsd, _ := conn.MLSD(); mlsd || dir == "/" || dir == "" {
		return nil // MLSD answers 550 itself
	}
	self := len(entries) == 1 && entries[0].Type == control.Dir && entries[0].Name == path.Base(dir)
	if len(entries) > 0 && !self {
		return nil
	}
	err := conn.ChangeDir(ctx, dir)
	if errors.Is(err, control.ErrNotFound) {
		what := "an empty listing"
		if self {
			what = "a listing of the folder itself"
		}
		return fmt.Errorf("%w: LIST gave %s, and %w", errUnreadable, what, err)
	}
	return nil
}

// listRetrying lists t, trying again on a fresh connection from the pool
// when the failure may pass (a dropped connection, a 4xx), under the
// transfers' retry policy (resume.Retry).
func (c *Client) listRetrying(ctx context.Context, t resume.Target) ([]control.Entry, error) {
	entries, _, err := c.listRetryingWith(ctx, t, false, false)
	return entries, err
}

// listRetryingWith is listRetrying with listWith's hidden and check (a
// tree's walk checks).
func (c *Client) listRetryingWith(ctx context.Context, t resume.Target, hidden, check bool) (entries []control.Entry, all bool, err error) {
	err = resume.Retry(ctx, "list "+t.String(), c.options(t, ""), func(ctx context.Context) error {
		var err error
		entries, all, err = c.listWith(ctx, t, hidden, check)
		return err
	})
	return entries, all, err
}

// listingFacts returns what a listing entry says about a file in the form
// the resume layer compares: MLSD's size, modify and unique. A LIST entry
// gives nil: its time is only to the minute (or the day), in the server's
// zone, and cannot stand in for MDTM.
func listingFacts(e control.Entry) *resume.Remote {
	if e.Facts == nil || e.Size < 0 {
		return nil
	}
	r := &resume.Remote{Size: e.Size, Unique: e.Facts["unique"]}
	if resume.UsableTime(e.ModTime) {
		r.ModTime = e.ModTime
	}
	return r
}

// hasGlob reports whether a remote path's last element is a pattern.
func hasGlob(p string) bool { return strings.ContainsAny(path.Base(p), "*?[") }

// Expand returns the files a pattern URL ("ftp://h/data/*.csv") matches:
// the regular files of its directory whose names match path.Match and
// that Options.Filter takes, as URLs without the password (none, and no
// error, when the pattern matches and the Filter leaves out all). A URL
// without a pattern is returned as it is.
func (c *Client) Expand(ctx context.Context, rawURL string) ([]string, error) {
	t, err := c.parse(rawURL)
	if err != nil {
		return nil, err
	}
	ms, err := c.expand(ctx, t)
	var urls []string
	for _, m := range ms {
		if m.err == nil { // names left out are not files one can fetch
			urls = append(urls, m.t.String())
		}
	}
	return urls, err
}

// match is one file a URL stands for; e is its listing entry when it came
// from a pattern (nil otherwise). err, when set, is why a listed name that
// matched is left out.
type match struct {
	t   resume.Target
	e   *control.Entry
	err error
}

func (c *Client) expand(ctx context.Context, t resume.Target) ([]match, error) {
	if !hasGlob(t.Path) {
		return []match{{t: t}}, nil
	}
	pattern := path.Base(t.Path)
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("%w: pattern %q: %v", resume.ErrBadURL, pattern, err)
	}
	dir := t
	dir.Path = path.Dir(t.Path)
	entries, err := c.listRetrying(ctx, dir)
	if err != nil && !errors.Is(err, control.ErrBadListing) {
		return nil, err
	}
	var files []match
	seen := map[string]bool{}
	filtered := 0 // matched, and left out by Options.Filter
	for _, e := range entries {
		if e.Type != control.File {
			continue
		}
		if ok, _ := path.Match(pattern, e.Name); !ok {
			continue
		}
		f, err := listedName(dir, e.Name, seen)
		switch {
		case err != nil:
			files = append(files, match{t: f, err: leftOut(err)})
		case !c.takesListed(e):
			filtered++
		default:
			files = append(files, match{t: f, e: &e})
		}
	}
	if len(files) == 0 {
		if err != nil {
			return nil, err
		}
		if filtered > 0 {
			// The pattern matched; the filter chose none of it. That is
			// what was asked, not a missing file.
			c.logf("%s: %d files match, and the filters leave out all of them", t, filtered)
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w: no file matches", t, control.ErrNotFound)
	}
	return files, nil
}

// MkdirAll creates the remote directory at rawURL and its parents (MKD).
// A directory that exists already is fine; a refusal shows up when a file
// is stored there. A failure that may pass is tried again under the
// retry policy, as a transfer is.
func (c *Client) MkdirAll(ctx context.Context, rawURL string) error {
	t, err := c.parse(rawURL)
	if err != nil {
		return err
	}
	return c.mkdirAll(ctx, t)
}

func (c *Client) mkdirAll(ctx context.Context, t resume.Target) error {
	return resume.Retry(ctx, "make "+t.String(), c.options(t, ""), func(ctx context.Context) error {
		return c.mkdirs(ctx, t)
	})
}

// mkdirs makes t's folder and its parents, one MKD each, on one
// connection.
func (c *Client) mkdirs(ctx context.Context, t resume.Target) error {
	conn, err := c.pool.Conn(ctx, t)
	if err != nil {
		return err
	}
	defer func() { c.pool.Release(conn, conn.Err() == nil) }()
	p := ""
	for _, part := range strings.Split(strings.Trim(t.Path, "/"), "/") {
		if part == "" {
			continue
		}
		p += "/" + part
		// A 5xx is most often "exists" (servers word it differently), so
		// it is not an error here.
		if err := conn.Mkdir(ctx, p); err != nil && !control.IsPermanent(err) {
			return fmt.Errorf("MKD %s: %w", p, err)
		}
	}
	return nil
}
