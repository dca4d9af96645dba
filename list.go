package keepftp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
)

// List returns the entries of the remote directory at rawURL (MLSD, or
// LIST where the server has no MLSD). Names are as the server sent them:
// see SafeName before using one as a local path.
func (c *Client) List(ctx context.Context, rawURL string) ([]Entry, error) {
	t, err := c.parse(rawURL)
	if err != nil {
		return nil, err
	}
	return c.list(ctx, t)
}

func (c *Client) list(ctx context.Context, t resume.Target) ([]control.Entry, error) {
	entries, _, err := c.listWith(ctx, t, false)
	return entries, err
}

// listWith lists t; with hidden, names starting with a dot too where the
// server hides them from LIST (control.Conn.ListHidden), and all reports
// whether the listing shows them.
func (c *Client) listWith(ctx context.Context, t resume.Target, hidden bool) (entries []control.Entry, all bool, err error) {
	conn, err := c.pool.Conn(ctx, t)
	if err != nil {
		return nil, false, err
	}
	if hidden {
		entries, all, err = conn.ListHidden(ctx, t.Path)
	} else {
		entries, err = conn.List(ctx, t.Path)
	}
	c.pool.Release(conn, conn.Err() == nil)
	if err != nil {
		// A listing with bad lines comes with the entries of the good ones.
		return entries, all, fmt.Errorf("list %s: %w", t, err)
	}
	return entries, all, nil
}

// listTries is how many times a directory listing is tried when it fails
// for a reason that may pass (a dropped connection, a 4xx).
const listTries = 3

// listRetrying lists t, trying again (at once, on a fresh connection from
// the pool) when the failure may pass: a dropped connection, a 4xx.
func (c *Client) listRetrying(ctx context.Context, t resume.Target) ([]control.Entry, error) {
	entries, _, err := c.listRetryingWith(ctx, t, false)
	return entries, err
}

// listRetryingWith is listRetrying with listWith's hidden.
func (c *Client) listRetryingWith(ctx context.Context, t resume.Target, hidden bool) (entries []control.Entry, all bool, err error) {
	for range listTries {
		entries, all, err = c.listWith(ctx, t, hidden)
		if err == nil || ctx.Err() != nil || resume.Classify(err) != resume.Transient {
			break
		}
	}
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

// SafeName reports whether a name from a remote listing can be used as one
// component of a local path: not empty, not "." or "..", without a path
// separator, and without control characters (CR, LF and NUL above all,
// which would end a command line early if the name were sent back to the
// server). A hostile server's "../../.bashrc" is not.
func SafeName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		if b := name[i]; b < 0x20 || b == 0x7f || b == '/' || b == '\\' {
			return false
		}
	}
	return true
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
	entries, err := c.list(ctx, dir)
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
		f := dir
		f.Path = path.Join(dir.Path, e.Name)
		switch {
		case !SafeName(e.Name):
			// Percent-encoded in the URL: its control bytes must not reach
			// a terminal or a log raw.
			f.Path = path.Join(dir.Path, url.PathEscape(e.Name))
			files = append(files, match{t: f, err: leftOut(errUnsafeName(e.Name))})
		case seen[e.Name]:
			files = append(files, match{t: f, err: leftOut(fmt.Errorf("%q is listed more than once", e.Name))})
		case !c.takesListed(e):
			seen[e.Name] = true
			filtered++
		default:
			seen[e.Name] = true
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
			if logf := c.o.Transfer.Logf; logf != nil {
				logf("%s: %d files match, and the filters leave out all of them", t, filtered)
			}
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w: no file matches", t, resume.ErrNotFound)
	}
	return files, nil
}

// MkdirAll creates the remote directory at rawURL and its parents (MKD).
// A directory that exists already is fine; a refusal shows up when a file
// is stored there.
func (c *Client) MkdirAll(ctx context.Context, rawURL string) error {
	t, err := c.parse(rawURL)
	if err != nil {
		return err
	}
	return c.mkdirAll(ctx, t)
}

func (c *Client) mkdirAll(ctx context.Context, t resume.Target) error {
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
