package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/urfave/cli/v2"
)

// batchFlags are the flags of the commands that move many files.
func batchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "parallel", Aliases: []string{"P"}, Value: 1, Usage: "transfers at once, over up to this many connections per server"},
		&cli.BoolFlag{Name: "json", Usage: "JSON-lines events on stdout (start, progress, retry, verified, done, error)"},
		&cli.StringFlag{Name: "json-file", Usage: "JSON-lines events appended to this file instead of stdout (implies --json)"},
		&cli.StringFlag{Name: "netrc-file", Usage: "credentials file (default ~/.netrc)"},
	}
}

// runner runs a batch of transfers through one Client and reports on it:
// JSON events, or bars on a terminal, and a summary.
type runner struct {
	c      *cli.Context
	client *keepftp.Client
	par    int
	jmu    sync.Mutex
	enc    *json.Encoder
	bars   *bars
	start  time.Time
	// localSources: the sources are the local files (an upload), for
	// the lines that name the sources removed.
	localSources bool
}

// newRunner makes the runner; adjust, if not nil, sets the command's own
// options.
func newRunner(c *cli.Context, files int, logins *logins, adjust func(*keepftp.Options)) (*runner, error) {
	o, err := clientOptions(c)
	if err != nil {
		return nil, err
	}
	if adjust != nil {
		adjust(&o)
	}
	if o.Filter, err = filterFrom(c, time.Now()); err != nil {
		return nil, err
	}
	o.RemoveSource = c.Bool("remove-source-files")
	par := c.Int("parallel")
	if par < 1 {
		return nil, usageError{"--parallel must be at least 1"}
	}
	r := &runner{c: c, par: par, start: time.Now()}
	if f := c.String("json-file"); f != "" {
		w, err := os.OpenFile(f, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, usageError{fmt.Sprintf("--json-file: %v", err)}
		}
		r.enc = json.NewEncoder(maskWriter{w, secretsOf(c)}) // closed at exit
	} else if c.Bool("json") {
		r.enc = json.NewEncoder(c.App.Writer)
		o.Logf = nil // the events say it, machine-readably
	}
	every := time.Second
	if !c.Bool("json") && !c.Bool("quiet") && isTerminal(c.App.ErrWriter) {
		// mpb needs the terminal itself: the bars mask what they draw.
		r.bars = newBars(c.Context, unmasked(c.App.ErrWriter), secretsOf(c), files)
		every = drawEvery
		// Log lines go above the bars, not through them.
		logf := safeLogf(log.New(r.bars, "keepftp: ", log.Ltime))
		if o.Logf != nil {
			o.Logf = logf
		}
		if o.ProtocolLog != nil {
			o.ProtocolLog = logf
		}
	}
	o.Parallel, o.Events, o.ProgressEvery, o.Credentials = par, r.event, every, logins.fill
	r.client = keepftp.NewClient(o)
	return r, nil
}

func (r *runner) event(e keepftp.Event) {
	if r.enc != nil {
		r.jmu.Lock()
		r.enc.Encode(e)
		r.jmu.Unlock()
	}
	if r.bars != nil {
		r.bars.event(e)
	}
}

// eventSummary is the kind of the last --json line of get, put and
// mirror: the counts of the summary line.
const eventSummary keepftp.EventKind = "summary"

// summary is what a run did, in counts. A file is done when it is complete
// and was checked (by size or hash); unverified when it is complete but
// nothing could check it (no size, no hash from the server).
type summary struct {
	Kind       keepftp.EventKind `json:"event"`
	Time       time.Time         `json:"time"`
	Files      int               `json:"files"`
	Done       int               `json:"done"`
	Unverified int               `json:"unverified"`
	UpToDate   int               `json:"up_to_date"`
	Failed     int               `json:"failed"`
	Removed    *int              `json:"removed,omitempty"`     // with --remove-source-files: the sources removed
	Deleted    *int              `json:"deleted,omitempty"`     // mirror --delete: the destination's files and folders deleted
	NotDeleted *int              `json:"not_deleted,omitempty"` // mirror --delete: deletes that failed, and each report of deletes held back
	Bytes      int64             `json:"bytes"`                 // of the files done or unverified
	Seconds    float64           `json:"seconds"`
}

// batchError is a batch in which some files failed, or a mirror whose
// deletes failed or were held back.
type batchError struct {
	failed     []keepftp.FileResult
	total      int                  // files
	notDeleted []keepftp.FileResult // mirror --delete
}

func (e *batchError) Error() string {
	var parts []string
	if len(e.failed) > 0 {
		var names []string
		for _, f := range e.failed {
			names = append(names, f.URL)
		}
		parts = append(parts, fmt.Sprintf("%d of %d files failed: %s", len(e.failed), e.total, strings.Join(names, ", ")))
	}
	switch n := len(e.notDeleted); {
	case n == 1:
		parts = append(parts, e.notDeleted[0].Err.Error())
	case n > 1:
		parts = append(parts, fmt.Sprintf("%d deletes failed", n))
	}
	return strings.Join(parts, "; ")
}

// finish closes the client, prints the summary and turns the results into
// the command's error: the file's own error for a single file, a
// batchError (exit code ExitPartial) when some of several failed.
func (r *runner) finish(results []keepftp.FileResult) error {
	t := &resultTally{}
	for i, f := range results {
		t.add(i, f)
	}
	return r.finishTally(t)
}

// resultTally is what the summary needs of a run's results, taken one at a time
// (a mirror's come as they are done, keepftp.Client.MirrorFunc): counts,
// and only the results it prints or returns one by one (failed, removed,
// deleted, not deleted), each with its index to print them in the
// results' order.
type resultTally struct {
	mu                         sync.Mutex
	sum                        summary
	n                          int
	only                       keepftp.FileResult // the first, for a run of one
	failed, removed, notDelete []indexed
	// deleted counts the deletes done; printDeleted, when set, prints
	// each as it is done. They are not held: a mirror's deletes are not
	// bounded in number.
	deleted      int
	printDeleted func(keepftp.FileResult)
	// leftOutFirst: a mirror's failed results print the entries it left
	// out first.
	leftOutFirst bool
}

type indexed struct {
	i int
	f keepftp.FileResult
}

func (t *resultTally) add(i int, f keepftp.FileResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n++; t.n == 1 {
		t.only = f
	}
	if f.Removed {
		t.removed = append(t.removed, indexed{i, f})
	}
	if !f.Delete {
		t.sum.Files++
	}
	switch {
	case f.Delete && f.Err != nil:
		t.notDelete = append(t.notDelete, indexed{i, f})
	case f.Delete:
		t.deleted++
		if t.printDeleted != nil {
			t.printDeleted(f)
		}
	case f.Err != nil:
		t.failed = append(t.failed, indexed{i, f})
	case f.Skipped:
		t.sum.UpToDate++
	case f.Outcome.Verified == keepftp.NotVerified:
		t.sum.Unverified++ // complete, but never called done: nothing checked it
		t.sum.Bytes += f.Outcome.Size
	default:
		t.sum.Done++
		t.sum.Bytes += f.Outcome.Size
	}
}

// leftOutRank is 0 for an entry a mirror left out, 1 for any other result.
func leftOutRank(f keepftp.FileResult) int {
	if errors.Is(f.Err, keepftp.ErrLeftOut) {
		return 0
	}
	return 1
}

// inOrder is the results of a list in the order of their indexes.
func inOrder(l []indexed) []keepftp.FileResult {
	slices.SortFunc(l, func(a, b indexed) int { return cmp.Compare(a.i, b.i) })
	out := make([]keepftp.FileResult, len(l))
	for k, x := range l {
		out[k] = x.f
	}
	return out
}

// finishTally is finish with the results tallied.
func (r *runner) finishTally(t *resultTally) error {
	r.client.Close()
	if r.bars != nil {
		r.bars.close()
	}
	failed, removed, notDeleted := inOrder(t.failed), inOrder(t.removed), inOrder(t.notDelete)
	if t.leftOutFirst {
		// As RunPlan returns them: a streamed mirror hands out the
		// entries it leaves out among the files (MirrorFunc).
		slices.SortStableFunc(failed, func(a, b keepftp.FileResult) int { return cmp.Compare(leftOutRank(a), leftOutRank(b)) })
	}
	sum := t.sum
	sum.Kind = eventSummary
	sum.Failed = len(failed)
	if r.c.Bool("remove-source-files") {
		n := len(removed)
		sum.Removed = &n
	}
	if r.c.Bool("delete") {
		n, m := t.deleted, len(notDeleted)
		sum.Deleted, sum.NotDeleted = &n, &m
	}
	sum.Seconds = time.Since(r.start).Seconds()
	if r.enc != nil {
		sum.Time = time.Now()
		r.jmu.Lock()
		r.enc.Encode(sum)
		r.jmu.Unlock()
	}
	if r.c.Context.Err() != nil {
		return r.c.Context.Err()
	}
	if t.n == 1 && len(failed)+len(notDeleted) == 1 {
		return t.only.Err
	}
	quiet := r.c.Bool("quiet") || r.enc != nil
	if t.n == 1 && !t.only.Delete && !quiet {
		f := t.only
		if f.Local != "-" {
			report(r.c.App.ErrWriter, f.Local, f.Outcome, time.Since(r.start))
		}
		r.printRemoved(removed)
		return nil
	}
	if !quiet || len(failed)+len(notDeleted) > 0 {
		deletes := ""
		if sum.Deleted != nil {
			deletes = fmt.Sprintf(", %d deleted", *sum.Deleted)
			if *sum.NotDeleted > 0 {
				deletes += fmt.Sprintf(", %d not deleted", *sum.NotDeleted)
			}
		}
		fmt.Fprintf(r.c.App.ErrWriter, "%d files: %d done, %d unverified, %d up to date, %d failed%s; %d bytes in %.1fs\n",
			sum.Files, sum.Done, sum.Unverified, sum.UpToDate, sum.Failed, deletes, sum.Bytes, sum.Seconds)
		for _, f := range failed {
			fmt.Fprintf(r.c.App.ErrWriter, "failed: %s: %s\n", safeText(f.URL), safeText(f.Err.Error()))
		}
		for _, f := range notDeleted {
			fmt.Fprintf(r.c.App.ErrWriter, "not deleted: %s: %s\n", safeText(r.deleteName(f)), safeText(f.Err.Error()))
		}
	}
	if !quiet {
		r.printRemoved(removed)
	}
	if len(failed)+len(notDeleted) > 0 {
		return &batchError{failed: failed, total: sum.Files, notDeleted: notDeleted}
	}
	return nil
}

// printRemoved lists the sources removed (--remove-source-files), one
// line each, after the summary: the remote file for a download, the local
// one for an upload.
func (r *runner) printRemoved(removed []keepftp.FileResult) {
	for _, f := range removed {
		name := f.URL
		if r.localSources {
			name = f.Local
		}
		fmt.Fprintf(r.c.App.ErrWriter, "removed: %s\n", safeText(name))
	}
}

// deleteName is the destination entry a delete's result is about: the
// local one for a download, the remote one for an upload.
func (r *runner) deleteName(f keepftp.FileResult) string {
	if r.localSources || f.Local == "" {
		return f.URL
	}
	return f.Local
}

func isBatchError(err error) bool {
	var be *batchError
	return errors.As(err, &be)
}
