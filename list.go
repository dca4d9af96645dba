package keepftp

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
)

// List returns the entries of the remote directory at rawURL (MLSD, or
// LIST where the server has no MLSD). Names are as the server sent them:
// see SafeName before using one as a local path.
func (c *Client) List(ctx context.Context, rawURL string) ([]control.Entry, error) {
	t, err := c.parse(rawURL)
	if err != nil {
		return nil, err
	}
	return c.list(ctx, t)
}

func (c *Client) list(ctx context.Context, t resume.Target) ([]control.Entry, error) {
	conn, err := c.pool.Conn(ctx, t)
	if err != nil {
		return nil, err
	}
	entries, err := conn.List(ctx, t.Path)
	c.pool.Release(conn, conn.Err() == nil)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t, err)
	}
	return entries, nil
}

// SafeName reports whether a name from a remote listing can be used as one
// component of a local path: not empty, not "." or "..", and without a
// path separator or NUL. A hostile server's "../../.bashrc" is not.
func SafeName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}

// hasGlob reports whether a remote path's last element is a pattern.
func hasGlob(p string) bool { return strings.ContainsAny(path.Base(p), "*?[") }

// Expand returns the files a pattern URL ("ftp://h/data/*.csv") matches:
// the regular files of its directory whose names match path.Match, as
// URLs without the password. A URL without a pattern is returned as it is.
func (c *Client) Expand(ctx context.Context, rawURL string) ([]string, error) {
	t, err := c.parse(rawURL)
	if err != nil {
		return nil, err
	}
	ts, err := c.expand(ctx, t)
	var urls []string
	for _, t := range ts {
		urls = append(urls, t.String())
	}
	return urls, err
}

func (c *Client) expand(ctx context.Context, t resume.Target) ([]resume.Target, error) {
	if !hasGlob(t.Path) {
		return []resume.Target{t}, nil
	}
	pattern := path.Base(t.Path)
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("%w: pattern %q: %v", resume.ErrBadURL, pattern, err)
	}
	dir := t
	dir.Path = path.Dir(t.Path)
	entries, err := c.list(ctx, dir)
	if err != nil {
		return nil, err
	}
	var files []resume.Target
	for _, e := range entries {
		if e.Type != control.File || !SafeName(e.Name) {
			continue
		}
		if ok, _ := path.Match(pattern, e.Name); ok {
			f := dir
			f.Path = path.Join(dir.Path, e.Name)
			files = append(files, f)
		}
	}
	if len(files) == 0 {
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
