package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
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
}

// newRunner makes the runner; adjust, if not nil, sets the command's own
// transfer options.
func newRunner(c *cli.Context, files int, logins *logins, adjust func(*keepftp.TransferOptions)) (*runner, error) {
	o, err := resumeOptions(c)
	if err != nil {
		return nil, err
	}
	if adjust != nil {
		adjust(&o)
	}
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
		r.enc = json.NewEncoder(w) // closed at exit
	} else if c.Bool("json") {
		r.enc = json.NewEncoder(c.App.Writer)
		o.Logf = nil // the events say it, machine-readably
	}
	every := time.Second
	if !c.Bool("json") && !c.Bool("quiet") && isTerminal(os.Stderr) {
		r.bars = newBars(os.Stderr, files)
		every = drawEvery
		// Log lines go above the bars, not through them.
		logf := safeLogf(log.New(r.bars, "keepftp: ", log.Ltime))
		if o.Logf != nil {
			o.Logf = logf
		}
		if o.ProtoLog != nil {
			o.ProtoLog = logf
		}
	}
	r.client = keepftp.NewClient(keepftp.Options{
		Transfer:      o,
		MaxConns:      par,
		Events:        r.event,
		ProgressEvery: every,
		Credentials:   logins.fill,
		NoProfile:     c.Bool("no-profile"),
	})
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

// batchError is a batch in which some files failed.
type batchError struct {
	failed []keepftp.FileResult
	total  int
}

func (e *batchError) Error() string {
	var names []string
	for _, f := range e.failed {
		names = append(names, f.URL)
	}
	return fmt.Sprintf("%d of %d files failed: %s", len(e.failed), e.total, strings.Join(names, ", "))
}

// finish closes the client, prints the summary and turns the results into
// the command's error: the file's own error for a single file, a
// batchError (exit code ExitPartial) when some of several failed.
func (r *runner) finish(results []keepftp.FileResult) error {
	r.client.Close()
	if r.bars != nil {
		r.bars.close()
	}
	var failed []keepftp.FileResult
	var done, skipped int
	var bytes int64
	for _, f := range results {
		switch {
		case f.Err != nil:
			failed = append(failed, f)
		case f.Skipped:
			skipped++
		default:
			done++
			bytes += f.Outcome.Size
		}
	}
	if r.c.Context.Err() != nil {
		return r.c.Context.Err()
	}
	if len(results) == 1 && len(failed) == 1 {
		return failed[0].Err
	}
	quiet := r.c.Bool("quiet") || r.enc != nil
	if len(results) == 1 && !quiet {
		f := results[0]
		if f.Local != "-" {
			report(f.Local, f.Outcome, time.Since(r.start))
		}
		return nil
	}
	if !quiet || len(failed) > 0 {
		fmt.Fprintf(os.Stderr, "%d files: %d done (%d bytes), %d up to date, %d failed in %.1fs\n",
			len(results), done, bytes, skipped, len(failed), time.Since(r.start).Seconds())
		for _, f := range failed {
			fmt.Fprintf(os.Stderr, "failed: %s: %s\n", safeText(f.URL), safeText(f.Err.Error()))
		}
	}
	if len(failed) > 0 {
		return &batchError{failed: failed, total: len(results)}
	}
	return nil
}

func isBatchError(err error) bool {
	var be *batchError
	return errors.As(err, &be)
}
