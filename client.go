package keepftp

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
)

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
		// A login holding CR, LF or NUL is refused by control.Dial.
		ft := targetOf(t)
		if err = c.o.Credentials(&ft); err == nil {
			t = ft.lower()
		}
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
	base     resume.Options // the transfers' settings, from o
	noops    *noop.Registry // the Client's own NOOP knowledge: no package global changes
	pool     *pool
	prof     *profiles
	times    *timeMemo
	tlsErr   error // Options.TLS could not be turned into a config
	proxyErr error // Options.Proxy.URL cannot be used
}

// NewClient returns a Client; Close it when done to end idle connections.
func NewClient(o Options) *Client {
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
	c := &Client{o: o, noops: &noop.Registry{Logf: o.Logf}}
	c.base = resume.Options{
		Timeout:         o.Timeout,
		Keepalive:       o.Keepalive,
		NoKeepalive:     o.NoKeepalive,
		RateLimit:       o.RateLimit,
		PartSuffix:      o.PartSuffix,
		Policy:          o.Retry.lower(),
		NoVerify:        o.NoVerify,
		RequireVerified: o.RequireVerified,
		Fresh:           o.Fresh,
		NoMtime:         o.NoMtime,
		Segments:        o.Segments,
		Active:          o.Active,
		Inplace:         o.Inplace,
		Logf:            o.Logf,
		ProtoLog:        o.ProtocolLog,
		Noops:           c.noops,
		DialContext:     o.DialContext,
		Stdout:          o.Stdout,
	}
	if !o.TLS.IsZero() {
		c.base.TLS, c.tlsErr = o.TLS.Config()
	}
	if !o.Proxy.IsZero() {
		c.proxyErr = o.Proxy.Check()
		c.base.Proxy = o.Proxy.choose
	}
	c.prof = newProfiles(c.noops, o)
	c.times = newTimeMemo(c)
	c.pool = newPool(o.Parallel, c.dial, c.released, c.prof, o.Logf)
	if o.Retry.BaseDelay > 0 {
		c.pool.busyBase = o.Retry.BaseDelay
	}
	if o.Retry.MaxDelay > 0 {
		c.pool.busyMax = o.Retry.MaxDelay
	}
	return c
}

// dial opens a control connection for the pool, with the probes t's
// profile already answered left out, and tells the NOOP knowledge what
// the profile knows of the server.
func (c *Client) dial(ctx context.Context, t resume.Target, first bool) (*control.Conn, error) {
	cfg, err := c.base.Config(t)
	if err != nil {
		return nil, err
	}
	c.prof.config(t, &cfg)
	// The first connection goes with its caller's first command: its login
	// is written with it, saving the login's round trip.
	cfg.LazyLogin = first
	conn, err := control.Dial(ctx, t.Addr, cfg)
	if err != nil {
		return nil, err
	}
	c.prof.loggedIn(t, conn, cfg)
	c.prof.dialled(t, conn)
	return conn, nil
}

// released learns what a connection the pool is done with showed, and
// returns how to keep a healthy one alive while it idles: the transfers'
// NOOP interval (the flags', or the profile's, or timeout/4).
func (c *Client) released(t resume.Target, conn *control.Conn, healthy bool) noop.Schedule {
	c.prof.learn(t, conn)
	var sched noop.Schedule
	if !healthy {
		return sched
	}
	if every, on := c.prof.keepalive(t, &c.base); on {
		sched.Every = every
	}
	return sched
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
	o := c.base
	o.Conns = c.pool
	o.Times = c.times
	c.prof.transfer(t, &o)
	url := t.String()
	o.Events = func(e resume.Event) {
		ev := Event{Kind: EventKind(e.Kind), URL: url, Local: local, Offset: e.Offset, Size: max(e.Size, 0), Reason: e.Reason}
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
		return Outcome{}, err
	}
	r := FileResult{URL: t.String(), Local: dst}
	out, err := c.get(ctx, t, dst, fileOpts{})
	r.Outcome, r.Err = outcomeOf(out), err
	c.removeSource(ctx, downloadSource(t, dst), &r)
	return r.Outcome, r.Err
}

// fileOpts are the settings of one file of a batch or a mirror.
type fileOpts struct {
	part, state string         // where its partial and state files live; "" for beside it
	stateTemp   string         // where the state file's temporaries are made; "" for beside it
	known       *resume.Remote // what the listing said about it, if anything
	next        func() string  // names the file to look at with the check after the transfer (a mirror's next)
	fromStart   func(string) bool
}

func (c *Client) get(ctx context.Context, t resume.Target, dst string, fo fileOpts) (resume.Outcome, error) {
	o := c.options(t, dst)
	o.PartName, o.StateName, o.StateTemp, o.Known, o.Next = fo.part, fo.state, fo.stateTemp, fo.known, fo.next
	o.NextFromStart = fo.fromStart
	out, err := resume.Get(ctx, t, dst, o)
	c.done(t, dst, out, err)
	return out, err
}

// Put uploads the local file src to rawURL, resuming after failures and
// verifying the result.
func (c *Client) Put(ctx context.Context, src, rawURL string) (Outcome, error) {
	t, err := c.parse(rawURL)
	if err != nil {
		return Outcome{}, err
	}
	from := c.uploadSource(src, t)
	r := FileResult{URL: t.String(), Local: src}
	out, err := resume.Put(ctx, src, t, c.options(t, src))
	c.done(t, src, out, err)
	r.Outcome, r.Err = outcomeOf(out), err
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
