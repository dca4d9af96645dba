package keepftp

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// Transfer holds the per-transfer settings: timeout, keepalive, rate
	// limit (per transfer), retry policy, TLS, verification. Its Progress
	// and Events fields are ignored (use Events below), and so is Conns
	// (the Client's pool supplies the connections); its Logf is used only
	// when Logf below is nil.
	Transfer TransferOptions

	// MaxConns bounds the control connections per server, in use or idle
	// (default 4).
	MaxConns int

	// Logf, if set, receives notes for a human from everything the
	// Client does: the transfers' retries and warnings, what it learns
	// about a server's NOOPs during transfers, the profiles it applies.
	// It takes the place of Transfer.Logf (used when Logf is nil). No
	// package-level logger is involved: each Client keeps its own NOOP
	// knowledge, which logs here.
	Logf func(format string, args ...any)

	// Events, if set, receives what happens to every file, from the
	// transfers' goroutines (it must be safe for concurrent use).
	Events func(Event)

	// ProgressEvery is how often a running transfer reports progress
	// (default 1s).
	ProgressEvery time.Duration

	// Credentials, if set, completes the login of every URL before use
	// (from a netrc file, the environment, a prompt).
	Credentials func(*Target) error

	// TLS holds the FTPS certificate settings (CA file, client
	// certificate, public key pins, no verification, a TLS version cap),
	// the library's face of the command line's --ca-file, --cert/--key,
	// --pin-sha256, --insecure and --tls-max. Used when Transfer.TLS is
	// nil; a file that cannot be read fails every call with the reason.
	TLS TLSOptions

	// Proxy says which proxy each server is reached through (the command
	// line's --proxy and --noproxy, and the environment's ALL_PROXY and
	// NO_PROXY, as curl reads them). The zero value connects directly. A
	// URL that cannot be used fails every call with the reason.
	Proxy ProxyOptions

	// NoProfile turns off the learned server profiles (profiles.go):
	// nothing is read from or written to ProfileDir. With profiles, what
	// a run learns about a server (the path's idle limit, NOOP behaviour,
	// features, TLS version) sets the next run's keepalive and spares it
	// probes whose answers are known.
	NoProfile bool
	// ProfileDir holds the profiles; "" is os.UserCacheDir()/keepftp.
	ProfileDir string

	// Filter, if set, decides which names of a tree are taken: the
	// entries of Mirror's walk, and the files a pattern URL of GetAll
	// (or Expand) stands for. A URL without a pattern, and the files given
	// to Put and PutAll, are taken as named: a program that walks a local
	// tree asks Filter.Includes itself (as put -r does). What the Filter
	// leaves out is never copied, deleted or removed.
	Filter *Filter

	// RemoveSource makes each copy a move: once a file's copy is verified
	// (by the server's hash where it has one, else by size) its source is
	// removed, the remote file (DELE) after Get, GetAll and Mirror, the
	// local one after Put and PutAll. A download is first synced to disk
	// (the file and its folder). A copy that failed, that nothing could
	// verify, or that a mirror skipped as up to date is never removed:
	// see removeSource. FileResult.Removed and an EventRemoved say what
	// was.
	RemoveSource bool
}

// parse parses a URL and completes its login.
func (c *Client) parse(rawURL string) (resume.Target, error) {
	if c.tlsErr != nil {
		return resume.Target{}, fmt.Errorf("TLS options: %w", c.tlsErr)
	}
	if c.proxyErr != nil {
		return resume.Target{}, fmt.Errorf("proxy: %w", c.proxyErr)
	}
	t, err := resume.ParseURL(rawURL)
	if err == nil && c.o.Credentials != nil {
		err = c.o.Credentials(&t)
	}
	return t, err
}

// Event is something that happened to one file.
type Event struct {
	Kind   EventKind `json:"event"` // start, progress, retry, restart, split, verified, warning, skip, done, error, removed
	Time   time.Time `json:"time"`
	URL    string    `json:"url"` // the remote file, without password
	Local  string    `json:"local,omitempty"`
	Bytes  int64     `json:"bytes,omitempty"` // progress: bytes done; done: the file's size
	Size   int64     `json:"size,omitempty"`  // the file's size when known
	Offset int64     `json:"offset,omitempty"`
	Delay  float64   `json:"delay_s,omitempty"` // retry: seconds until the next attempt
	Reason string    `json:"reason,omitempty"`  // retry, restart, error; verified: how
	Status string    `json:"status,omitempty"`  // done: "complete" or "complete (verified)"
	// TimeSet, on an upload's done: how the server file got the local
	// file's time, read back to check it (MFMT, MDTM, SITE UTIME).
	TimeSet string `json:"time_set,omitempty"`
}

// Client transfers files. It is safe for concurrent use.
type Client struct {
	o        Options
	pool     *pool
	prof     *profiles
	times    *timeMemo
	tlsErr   error // Options.TLS could not be turned into a config
	proxyErr error // Options.Proxy.URL cannot be used
}

// NewClient returns a Client; Close it when done to end idle connections.
func NewClient(o Options) *Client {
	if o.MaxConns <= 0 {
		o.MaxConns = 4
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
	if o.Logf != nil {
		o.Transfer.Logf = o.Logf
	}
	if o.Transfer.Noops == nil {
		// The Client's own NOOP knowledge: its pool reads it for the
		// profiles, and no package global changes.
		o.Transfer.Noops = &noop.Registry{Logf: o.Transfer.Logf}
	}
	c := &Client{o: o}
	if c.o.Transfer.TLS == nil && !o.TLS.IsZero() {
		c.o.Transfer.TLS, c.tlsErr = o.TLS.Config()
	}
	if !o.Proxy.IsZero() {
		c.proxyErr = o.Proxy.check()
		c.o.Transfer.Proxy = o.Proxy.For
	}
	c.prof = newProfiles(&c.o)
	c.times = newTimeMemo(c)
	c.pool = newPool(o.MaxConns, &c.o.Transfer, c.prof)
	return c
}

// Close ends the idle pooled connections (with QUIT).
func (c *Client) Close() error {
	c.pool.close()
	return nil
}

func (c *Client) emit(e Event) {
	if c.o.Events != nil {
		e.Time = time.Now()
		c.o.Events(e)
	}
}

// options returns the resume options for one file, wired to the pool and
// to the Client's events.
func (c *Client) options(t resume.Target, local string) resume.Options {
	o := c.o.Transfer
	o.Conns = c.pool
	if o.Times == nil {
		o.Times = c.times
	}
	c.prof.transfer(t, &o)
	url := t.String()
	o.Events = func(e resume.Event) {
		ev := Event{Kind: e.Kind, URL: url, Local: local, Offset: e.Offset, Size: max(e.Size, 0), Reason: e.Reason}
		if e.Kind == resume.EventRetry {
			ev.Delay = e.Delay.Seconds()
		}
		c.emit(ev)
	}
	if c.o.Events != nil {
		var mu sync.Mutex
		var last time.Time
		o.Progress = func(done, total int64) {
			mu.Lock()
			due := time.Since(last) >= c.o.ProgressEvery
			if due {
				last = time.Now()
			}
			mu.Unlock()
			if due {
				c.emit(Event{Kind: EventProgress, URL: url, Local: local, Bytes: done, Size: max(total, 0)})
			}
		}
	}
	return o
}

// Get downloads the file at rawURL to the local path dst, resuming after
// failures and verifying the result. A dst that is not a regular file
// ("-", a device, a FIFO, /dev/stdout) is written in place, as a stream,
// and a symbolic link is written through (see LocalDest).
func (c *Client) Get(ctx context.Context, rawURL, dst string) (Outcome, error) {
	t, err := c.parse(rawURL)
	if err != nil {
		return resume.Outcome{}, err
	}
	r := FileResult{URL: t.String(), Local: dst}
	r.Outcome, r.Err = c.get(ctx, t, dst, fileOpts{})
	c.removeSource(ctx, downloadSource(t, dst), &r)
	return r.Outcome, r.Err
}

// fileOpts are the settings of one file of a batch or a mirror.
type fileOpts struct {
	part, state string         // where its partial and state files live; "" for beside it
	stateTemp   string         // where the state file's temporaries are made; "" for beside it
	known       *resume.Remote // what the listing said about it, if anything
	ahead       *resume.Ahead  // the file to look at with the check after the transfer (a mirror's next)
}

func (c *Client) get(ctx context.Context, t resume.Target, dst string, fo fileOpts) (resume.Outcome, error) {
	o := c.options(t, dst)
	o.PartName, o.StateName, o.StateTemp, o.Known, o.Ahead = fo.part, fo.state, fo.stateTemp, fo.known, fo.ahead
	out, err := resume.Get(ctx, t, dst, o)
	c.done(t, dst, out, err)
	return out, err
}

// Put uploads the local file src to rawURL, resuming after failures and
// verifying the result.
func (c *Client) Put(ctx context.Context, src, rawURL string) (Outcome, error) {
	t, err := c.parse(rawURL)
	if err != nil {
		return resume.Outcome{}, err
	}
	from := c.uploadSource(src, t)
	r := FileResult{URL: t.String(), Local: src}
	r.Outcome, r.Err = resume.Put(ctx, src, t, c.options(t, src))
	c.done(t, src, r.Outcome, r.Err)
	c.removeSource(ctx, from, &r)
	return r.Outcome, r.Err
}

func (c *Client) done(t resume.Target, local string, out resume.Outcome, err error) {
	if err != nil {
		c.emit(Event{Kind: EventError, URL: t.String(), Local: local, Reason: err.Error()})
		return
	}
	c.emit(Event{Kind: EventDone, URL: t.String(), Local: local, Bytes: out.Size, Size: out.Size, Status: out.Status, Reason: out.Verified, TimeSet: out.TimeSet})
}

// warnf reports something off about url that does not stop the work: a
// note for a human and a warning event.
func (c *Client) warnf(url, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.logf("warning: %s: %s", url, msg)
	c.emit(Event{Kind: EventWarning, URL: url, Reason: msg})
}

func (c *Client) logf(format string, args ...any) {
	if c.o.Logf != nil {
		c.o.Logf(format, args...)
	}
}
