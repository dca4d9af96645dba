package resume

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/transfer"
)

// Options configure Get and Put.
type Options struct {
	Timeout     time.Duration // liveness timeout; 0 means control.DefaultTimeout
	Keepalive   time.Duration // NOOP interval; 0 means Timeout/4
	NoKeepalive bool          // send no NOOP during transfers
	RateLimit   int64         // bytes per second, 0 for none
	TLS         *tls.Config   // for ftps/ftpes; certificates verified unless it says otherwise
	PartSuffix  string        // default DefaultPartSuffix
	Policy      Policy        // zero value: DefaultPolicy
	NoVerify    bool          // skip the final hash check (sizes are always checked)
	// RequireVerified makes a result that nothing could check (the server
	// gave no size and no hash) an error, ErrUnverified, instead of a
	// success marked "(unverified)": a download stays its partial file,
	// not renamed to its name; an upload stays on the server.
	RequireVerified bool
	Fresh           bool // ignore and replace any partial download
	NoMtime         bool // do not set the local file's time from the server's (Get), nor the server file's from the local one (Put)
	// Segments > 1 downloads a file in that many ranges at once, each on a
	// connection of its own (like lftp's pget -n), dialled for it whatever
	// Conns would allow; files under 2 MiB, and servers without REST
	// STREAM, get one stream.
	Segments int
	Active   bool // active mode: the server connects to us for data (control.Config.Active)
	// Stdout is where a download to "-" goes; nil is os.Stdout. A program
	// that runs several commands in one process (keepftp's tests) gives
	// each its own.
	Stdout io.Writer

	// Known, if set, is what a listing already said about the remote
	// file. When it is Complete (size and time to the second, as MLSD
	// gives them), the first attempt starts from it instead of asking SIZE
	// and MDTM; the check after the transfer still asks, so a file that
	// changed since the listing or during the transfer is caught.
	Known *Remote

	// Next, if set, names the file the caller fetches next (a mirror's
	// next file), "" for none. Get calls it when the check after the
	// transfer is made, and only then, at most once: a caller with
	// several workers hands out its next file at the moment this worker
	// is about to be free, not while others are idle. Where that check
	// asks SIZE and MDTM, it asks them of the named file too, with the
	// EPSV that opens its data port, in the same round trip, and Get
	// returns what the server said as Outcome.Next: the caller passes
	// that as the next file's Known, and that file's own check after its
	// transfer still asks the server.
	Next func() string
	// NextFromStart, if set, reports whether the file Next named is the
	// caller's next download, from its start (no partial download of it
	// to resume, one stream), on the connection this Get gives back
	// (Conns) and with nothing else done on it first. Then its RETR may be
	// written too, after the EPSV (control.Transfer.StatRetrBehind), where
	// the server allows it: its data starts as soon as that EPSV's port
	// is connected to. Anything else done on the connection first costs
	// the ending of that RETR (a round trip or two), never a wrong reply.
	NextFromStart func(path string) bool

	// Inplace makes Put write to the final name directly, with no
	// temporary and no rename: for servers without RNFR. A reader on the
	// server may then see the file half written, and a later run cannot
	// tell a partial upload from an older file: it starts again from 0.
	Inplace bool
	// PartKnown, for Put, is what a listing said of the upload's
	// temporary (UploadPartName): nil when not known (the first attempt
	// asks its SIZE), a Size of -1 when it is not there (the first attempt
	// starts at 0 without asking).
	PartKnown *Remote
	// Times, for Put, remembers per server how it takes a file's time
	// (control.SetTimeMethods); nil tries the ways on every file.
	Times TimeMemo

	// PartName and StateName, if set, are where Get keeps the partial
	// download and its state file, instead of dst+PartSuffix and that
	// name+".keepftp" beside dst. A mirror uses a place of its own, so that
	// no remote file can share a name with them.
	PartName, StateName string
	// StateTemp, if set, is the directory where the state file's next
	// version is written before it is renamed into place. By default that
	// is beside the state file; a mirror gives a directory no remote name
	// maps to, so that no file's state can be another file's temporary.
	StateTemp string

	Progress func(done, total int64)          // bytes of the file done so far, and its size (-1 unknown)
	Events   func(Event)                      // what happens, for logs and JSON events
	Logf     func(format string, args ...any) // notes for a human
	ProtoLog func(format string, args ...any) // the protocol log (-v); passwords masked
	Noops    *noop.Registry

	// Conns, if set, supplies the attempts' control connections (a pool
	// that reuses them across files). nil dials a fresh one per attempt.
	Conns Conns

	// DialContext, if set, dials the control and data connections
	// (control.Config.DialContext): a test's fault injection; with a
	// proxy, it dials the proxy.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Proxy, if set, returns the proxy a target's connections are
	// tunnelled through (nil: directly). The Client sets it from its
	// Options.Proxy.
	Proxy func(Target) (*control.Proxy, error)

	// stepHook, if set (by tests), is called at named steps of a
	// segmented download: "split" (a span split in memory, not yet
	// recorded) and "recorded" (the split in the state file).
	stepHook func(step string)

	// warned holds the warnings given for this file: each is given once,
	// however many looks at the server repeat it (the look before the
	// transfer, the check after it, each retry). Get and Put set it.
	warned *messageSet
}

func (o *Options) hook(step string) {
	if o.stepHook != nil {
		o.stepHook(step)
	}
}

// TimeMemo remembers, per server, the way it takes a file's time (Put).
// A Client keeps one for all its transfers, and its profiles keep it
// across runs.
type TimeMemo interface {
	// TimeMethod returns the way known to work for t's server
	// (control.SetTimeMFMT, ...), "" with known true when no way works,
	// and known false when nothing is known yet.
	TimeMethod(t Target) (how string, known bool)
	// LearnTimeMethod records what an upload found: the way that set and
	// read back the time, or "" when none did. The memo, not Put, tells
	// the user (once per server) that times cannot be kept there.
	LearnTimeMethod(t Target, how string)
}

// messageSet is a set of messages, safe for concurrent use (a segmented
// download's ranges warn from goroutines of their own).
type messageSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

// first reports whether msg was not in the set, and adds it.
func (s *messageSet) first(msg string) bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[msg] {
		return false
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[msg] = true
	return true
}

// Conns supplies control connections. Release takes back a connection an
// attempt is done with; healthy says whether it may be used again.
type Conns interface {
	Conn(ctx context.Context, t Target) (*control.Conn, error)
	Release(c *control.Conn, healthy bool)
}

// Config returns the control.Config for t under these options; an error
// is a proxy that cannot be used.
func (o *Options) Config(t Target) (control.Config, error) {
	var proxy *control.Proxy
	if o.Proxy != nil {
		var err error
		if proxy, err = o.Proxy(t); err != nil {
			return control.Config{}, err
		}
	}
	return control.Config{
		User:     t.User,
		Password: t.Password,
		Timeout:  o.Timeout,
		TLSMode:  t.TLSMode,
		TLS:      o.TLS,
		Active:   o.Active,
		Logf:     o.ProtoLog,

		DialContext: o.DialContext,
		Proxy:       proxy,
	}, nil
}

func (o *Options) policy() Policy {
	if o.Policy.Retries == 0 && o.Policy.MaxAttempts == 0 {
		return DefaultPolicy
	}
	return o.Policy
}

func (o *Options) event(e Event) {
	if o.Events != nil {
		o.Events(e)
	}
}

// warn reports something off that does not stop the transfer: a note for
// a human and a warning event, once per file.
func (o *Options) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !o.warned.first(msg) {
		return
	}
	o.logf("warning: %s", msg)
	o.event(Event{Kind: EventWarning, Reason: msg})
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

func (o *Options) transferOptions(base, total int64) transfer.Options {
	to := transfer.Options{
		Timeout:     o.Timeout,
		Keepalive:   o.Keepalive,
		NoKeepalive: o.NoKeepalive,
		Noops:       o.Noops,
		Limiter:     transfer.NewLimiter(o.RateLimit),
		Logf:        o.Logf,
	}
	if o.Progress != nil {
		to.Progress = func(n int64) { o.Progress(base+n, total) }
	}
	return to
}

// conn gets an attempt's connection; release must be called when done.
func (o *Options) conn(ctx context.Context, t Target) (*control.Conn, error) {
	if o.Conns != nil {
		return o.Conns.Conn(ctx, t)
	}
	cfg, err := o.Config(t)
	if err != nil {
		return nil, err
	}
	return control.Dial(ctx, t.Addr, cfg)
}

// release gives back a connection: healthy ones to the pool, or, without
// a pool, a polite QUIT.
func (o *Options) release(ctx context.Context, c *control.Conn) {
	healthy := c.Err() == nil
	if o.Conns != nil {
		o.Conns.Release(c, healthy)
		return
	}
	if healthy {
		c.Quit(context.WithoutCancel(ctx))
	} else {
		c.Close()
	}
}
