package keepftp

import (
	"context"
	"fmt"
	"path"

	"github.com/keepftp/keepftp/resume"
)

// Upload is one file of a PutAll batch: a local file and the URL it goes
// to.
type Upload struct {
	Src string
	URL string
}

// PutAll uploads every file, Options.Parallel at a time, on the same worker pool as
// GetAll (the pool bounds the connections per server as well). The remote
// directories the URLs name are made first, in order, so that parallel
// uploads find them. Once ctx is done no more uploads start; those left
// are reported with ctx's error. It returns one result per upload, in
// order.
func (c *Client) PutAll(ctx context.Context, ups []Upload) []FileResult {
	results := make([]FileResult, len(ups))
	targets := make([]resume.Target, len(ups))
	made := map[string]error{}
	for i, up := range ups {
		results[i] = FileResult{URL: redactURL(up.URL), Local: up.Src}
		t, err := c.parse(up.URL)
		if err != nil {
			results[i].Err = err
			continue
		}
		targets[i], results[i].URL = t, t.String()
		dir := t
		dir.Path = path.Dir(t.Path)
		key := poolKey(t) + dir.Path
		if _, done := made[key]; !done && dir.Path != "/" && ctx.Err() == nil {
			made[key] = c.mkdirAll(ctx, dir)
		}
		if err := made[key]; err != nil {
			results[i].Err = fmt.Errorf("making %s: %w", dir, err)
		}
	}
	ran := forEach(ctx, len(ups), c.o.Parallel, func(i int) {
		if results[i].Err != nil {
			c.emit(Event{Kind: EventError, URL: results[i].URL, Local: results[i].Local, Reason: results[i].Err.Error()})
			return
		}
		from := c.uploadSource(ups[i].Src, targets[i])
		out, err := resume.Put(ctx, ups[i].Src, targets[i], c.options(targets[i], ups[i].Src))
		c.done(targets[i], ups[i].Src, out, err)
		results[i].Outcome, results[i].Err = outcomeOf(out), err
		c.removeSource(ctx, from, &results[i])
	})
	for i, ok := range ran {
		if ok {
			continue
		}
		if results[i].Err == nil {
			results[i].Err = ctx.Err()
		}
	}
	return results
}
