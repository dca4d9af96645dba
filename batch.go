package keepftp

import (
	"context"
	"path"
	"path/filepath"

	"github.com/keepftp/keepftp/resume"
)

// Job is one download of a batch: a URL (a pattern is expanded) and a
// local destination ("" for the remote name in Dir).
type Job struct {
	URL string
	Dst string
}

// FileResult is what happened to one file of a batch or a mirror.
type FileResult struct {
	URL     string // without password
	Local   string
	Outcome resume.Outcome
	Skipped bool  // mirror: already up to date
	Err     error // nil when done
}

// GetAll downloads every job's files, par at a time (the pool bounds the
// connections per server as well), into dir for jobs without a
// destination. It returns one result per file, in job order; a job whose
// URL cannot be expanded gives one failed result.
func (c *Client) GetAll(ctx context.Context, jobs []Job, dir string, par int) []FileResult {
	type item struct {
		t   resume.Target
		dst string
		err error
		url string
	}
	var items []item
	for _, j := range jobs {
		t, err := c.parse(j.URL)
		if err != nil {
			items = append(items, item{url: j.URL, err: err})
			continue
		}
		ts, err := c.expand(ctx, t)
		if err != nil {
			items = append(items, item{url: t.String(), err: err})
			continue
		}
		for _, f := range ts {
			dst := j.Dst
			if dst == "" || len(ts) > 1 {
				base := path.Base(f.Path)
				if !SafeName(base) {
					items = append(items, item{url: f.String(), err: errUnsafeName(base)})
					continue
				}
				if j.Dst != "" {
					dst = filepath.Join(j.Dst, base)
				} else {
					dst = filepath.Join(dir, base)
				}
			}
			items = append(items, item{t: f, dst: dst, url: f.String()})
		}
	}
	results := make([]FileResult, len(items))
	started := forEach(ctx, len(items), par, func(i int) {
		it := items[i]
		r := FileResult{URL: it.url, Local: it.dst, Err: it.err}
		if r.Err == nil {
			r.Outcome, r.Err = c.get(ctx, it.t, it.dst)
		} else {
			c.emit(Event{Kind: "error", URL: it.url, Local: it.dst, Reason: it.err.Error()})
		}
		results[i] = r
	})
	for i := started; i < len(items); i++ {
		results[i] = FileResult{URL: items[i].url, Local: items[i].dst, Err: ctx.Err()}
	}
	return results
}
