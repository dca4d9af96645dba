package main

import (
	"fmt"
	"time"

	"github.com/keepftp/keepftp"
)

// mirror --dry-run: the plan, printed or as events, and nothing changed.

// eventPlan is the kind of the --json lines of a dry run's plan, one per
// action.
const eventPlan keepftp.EventKind = "plan"

// planEvent is one action of a plan as a --json line.
type planEvent struct {
	Kind   keepftp.EventKind  `json:"event"`
	Time   time.Time          `json:"time"`
	Action keepftp.ActionKind `json:"action"` // transfer, skip, mkdir, cleanup, delete, keep
	Path   string             `json:"path"`   // below both tops, slash-separated ("." the top)
	URL    string             `json:"url"`
	Local  string             `json:"local,omitempty"`
	Dir    bool               `json:"dir,omitempty"`
	Size   int64              `json:"size,omitempty"`
	Reason string             `json:"reason"`
}

// planSummary is the last --json line of a dry run: what the plan holds,
// in counts.
type planSummary struct {
	Kind      keepftp.EventKind `json:"event"` // summary
	Time      time.Time         `json:"time"`
	DryRun    bool              `json:"dry_run"` // always true: nothing was changed
	Direction string            `json:"direction"`
	Transfer  int               `json:"to_transfer"`
	Bytes     int64             `json:"bytes_to_transfer"`
	UpToDate  int               `json:"up_to_date"`
	Mkdir     int               `json:"folders_to_make"`
	Cleanup   int               `json:"cleanups"`
	Delete    int               `json:"to_delete"`
	Keep      int               `json:"kept"`
	LeftOut   int               `json:"left_out"`
	NoDeletes string            `json:"no_deletes,omitempty"`
}

// dryRun plans the mirror and prints the plan as it is decided, folder
// by folder (keepftp.Client.PlanMirrorFunc: a tree of any size holds no
// line per action): one line per action on standard output ("transfer
// a/b.csv  (missing)"), the problems and a summary on standard error;
// with --json, a "plan" event per action and a summary event. Nothing is
// changed on either side: the plan only lists and reads. It exits as the
// run would about what the plan already shows: 9 when the source's
// listing left entries out, when deletes would be held back, or when
// --max-delete would stop them.
func (r *runner) dryRun(d keepftp.Direction, url, dir string, o keepftp.MirrorOptions) error {
	out, errOut := r.c.App.Writer, r.c.App.ErrWriter
	var sum planSummary
	headed := false
	head := func(p *keepftp.Plan) {
		if headed || r.enc != nil {
			return
		}
		headed = true
		from, to := shownURL(url), dir
		if p != nil {
			from, to = p.URL, p.Dir
		}
		if d == keepftp.ToServer {
			from, to = to, from
		}
		fmt.Fprintf(out, "dry run: %s %s -> %s (nothing is changed)\n", d, safeText(from), safeText(to))
	}
	p, err := r.client.PlanMirrorFunc(r.c.Context, d, url, dir, o, func(a keepftp.Action) {
		head(nil)
		switch a.Kind {
		case keepftp.ActTransfer:
			sum.Transfer++
			sum.Bytes += max(a.Size, 0)
		case keepftp.ActSkip:
			sum.UpToDate++
		case keepftp.ActMkdir:
			sum.Mkdir++
		case keepftp.ActCleanup:
			sum.Cleanup++
		case keepftp.ActDelete:
			sum.Delete++
		case keepftp.ActKeep:
			sum.Keep++
		}
		rel := a.Rel
		if rel == "" {
			rel = "."
		}
		if r.enc != nil {
			r.encode(planEvent{Kind: eventPlan, Time: time.Now(), Action: a.Kind, Path: rel, URL: a.URL, Local: a.Local, Dir: a.Dir, Size: max(a.Size, 0), Reason: a.Reason})
			return
		}
		if a.Dir && rel != "." {
			rel += "/"
		}
		fmt.Fprintf(out, "%-8s  %s  (%s)\n", a.Kind, safeText(rel), safeText(a.Reason))
	})
	r.client.Close()
	if r.bars != nil {
		r.bars.close()
	}
	if err != nil && p == nil {
		return err
	}
	head(p)
	sum.Kind, sum.DryRun, sum.Direction, sum.LeftOut, sum.NoDeletes = eventSummary, true, p.Direction.String(), len(p.Problems), p.NoDeletes
	if r.enc != nil {
		sum.Time = time.Now()
		r.encode(sum)
	} else {
		for _, f := range p.Problems {
			fmt.Fprintf(errOut, "%s: %s\n", safeText(f.URL), safeText(f.Err.Error()))
		}
		if p.NoDeletes != "" {
			fmt.Fprintf(errOut, "deletes held back: %s\n", safeText(p.NoDeletes))
		}
		if !r.c.Bool("quiet") || len(p.Problems) > 0 {
			fmt.Fprintf(errOut, "dry run: %d to transfer (%d bytes), %d up to date, %d folders to make, %d to delete, %d kept, %d left out; nothing was changed\n",
				sum.Transfer, sum.Bytes, sum.UpToDate, sum.Mkdir, sum.Delete, sum.Keep, sum.LeftOut)
		}
	}
	switch {
	case err != nil:
		return err
	case len(p.Problems) > 0:
		return fmt.Errorf("dry run: %w: %d of the source's entries (the plan shows what the rest would do)", keepftp.ErrLeftOut, len(p.Problems))
	case p.NoDeletes != "":
		return fmt.Errorf("dry run: %w: %s", keepftp.ErrNotDeleted, p.NoDeletes)
	case o.MaxDelete > 0 && p.Deletes() > o.MaxDelete:
		return fmt.Errorf("dry run: %w: --max-delete %d would stop the run before the delete past it (%d planned)", keepftp.ErrNotDeleted, o.MaxDelete, p.Deletes())
	}
	return nil
}

// shownURL is a URL from the command line as the library shows it
// (Plan.URL): without its password.
func shownURL(raw string) string {
	t, err := keepftp.ParseURL(raw)
	if err != nil {
		return "URL" // the mirror refuses it before any line is printed
	}
	return t.String()
}

// encode writes one --json line.
func (r *runner) encode(v any) {
	r.jmu.Lock()
	defer r.jmu.Unlock()
	r.enc.Encode(v)
}
