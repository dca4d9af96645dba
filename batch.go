package keepftp

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"

	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/transfer"
)

// Job is one download of a batch: a URL (a pattern is expanded) and a
// local destination ("" for the remote name in Dir).
type Job struct {
	URL string
	Dst string
}

// GetAll downloads every job's files, Options.Parallel at a time (over
// as many connections per server at most), into dir for jobs without a
// destination. It returns one result per file, in job order; a job whose
// URL cannot be expanded gives one failed result.
//
// One file alone keeps its partial download beside it (NAME.part). In a
// batch of several, one file's name can be another's partial ("data" and
// "data.part"): their partial downloads live in each destination
// directory's staging directory (see StagingDir), apart from the files
// themselves, and two files with the same destination are reported, not
// raced. Destinations are taken as Get takes them (LocalDest): a
// symbolic link is written through, and its target's partial file is
// staged beside the target; a device, a FIFO or a socket is written in
// place, never replaced. The listing's facts of the files a pattern
// expands to stand in for SIZE and MDTM before each transfer where they
// are precise, as in Mirror.
func (c *Client) GetAll(ctx context.Context, jobs []Job, dir string) []FileResult {
	type item struct {
		t     resume.Target
		dst   string
		err   error
		url   string
		stage *staging // in a batch of several
		rel   string
		known *resume.Remote
	}
	var items []item
	var stages []staging
	for _, j := range jobs {
		t, err := c.parse(j.URL)
		if err != nil {
			items = append(items, item{url: redactURL(j.URL), err: err})
			continue
		}
		ms, err := c.expand(ctx, t)
		if err != nil {
			items = append(items, item{url: t.String(), err: err})
			continue
		}
		for _, m := range ms {
			f := m.t
			if m.err != nil {
				items = append(items, item{url: f.String(), err: m.err})
				continue
			}
			dst := j.Dst
			if dst == "" || len(ms) > 1 {
				base := path.Base(f.Path)
				if !SafeName(base) {
					items = append(items, item{url: f.String(), err: errUnsafeName(base)})
					continue
				}
				into := dir
				if j.Dst != "" {
					into = j.Dst
				}
				dst = filepath.Join(into, base)
			}
			it := item{t: f, dst: dst, url: f.String()}
			if m.e != nil {
				it.known = listingFacts(*m.e)
			}
			items = append(items, it)
		}
	}
	if len(items) > 1 {
		dsts := map[string]bool{}
		for i := range items {
			it := &items[i]
			if it.err != nil {
				continue
			}
			// A link is written through: the file it leads to is the
			// destination, and its partial file is staged beside it. A
			// stream is written in place, with nothing to stage.
			clean := filepath.Clean(it.dst)
			d, derr := resume.LocalDest(it.dst)
			if derr == nil && d.Stream == "" {
				clean = filepath.Clean(d.Path)
			}
			switch {
			case filepath.Base(clean) == StagingDir:
				it.err = leftOut(fmt.Errorf("the name %q is where keepftp keeps its partial files", StagingDir))
			case dsts[clean]:
				it.err = leftOut(fmt.Errorf("%s is the destination of an earlier file too", it.dst))
			case derr == nil && d.Stream != "":
				dsts[clean] = true
			default:
				dsts[clean] = true
				st := newStaging(filepath.Dir(clean))
				stages = append(stages, st)
				it.stage, it.rel = &st, filepath.Base(clean)
			}
		}
	}
	results := make([]FileResult, len(items))
	ran := forEach(ctx, len(items), c.o.Parallel, func(i int) {
		it := items[i]
		r := FileResult{URL: it.url, Local: it.dst, Err: it.err}
		var fo fileOpts
		fo.known = it.known
		if r.Err == nil && it.stage != nil {
			if err := it.stage.prepare(it.rel); err != nil {
				r.Err = &transfer.LocalError{Err: err}
			}
			fo.part, fo.state = it.stage.files(it.rel)
			fo.stateTemp = it.stage.temp()
		}
		if r.Err == nil {
			out, err := c.get(ctx, it.t, it.dst, fo)
			r.Outcome, r.Err = outcomeOf(out), err
			c.removeSource(ctx, downloadSource(it.t, it.dst), &r)
		} else {
			kind := EventError
			if errors.Is(r.Err, ErrLeftOut) {
				kind = EventWarning
			}
			c.emit(Event{Kind: kind, URL: it.url, Local: it.dst, Reason: r.Err.Error()})
		}
		results[i] = r
	})
	for i, ok := range ran {
		if ok {
			continue
		}
		results[i] = FileResult{URL: items[i].url, Local: items[i].dst, Err: ctx.Err()}
	}
	for _, st := range stages {
		st.cleanup()
	}
	return results
}
