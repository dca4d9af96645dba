package keepftp

import (
	"context"
	"sync"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
)

// pool keeps control connections per server and account for reuse across
// files, at most max per server at once, fewer when the server limits the
// connections per client (connlimit.go). Idle connections are kept alive
// with NOOP (a NAT forgets idle ones as well as busy ones) and dropped when
// a NOOP fails.
//
// The pool is mechanism: how a connection is opened, what is learned from
// one, and how often an idle one is kept alive are its owner's (the
// Client's, with its profiles), given as functions.
type pool struct {
	max int
	// dial opens a logged-in connection to t's server. first says that no
	// other connection to it is open or being opened: a refusal cannot be
	// the connection limit, so its login may be left to go with the
	// caller's first command (control's LazyLogin); the others must be
	// logged in, their refusal seen here (connlimit.go).
	dial func(ctx context.Context, t resume.Target, first bool) (*control.Conn, error)
	// release is told of every connection the pool is done with: given
	// back healthy (it returns how to keep it alive while it idles), or
	// found dead, given back broken (healthy false: it is closed). It
	// learns what the connection showed.
	release func(t resume.Target, c *control.Conn, healthy bool) noop.Schedule
	// limits remembers the servers' connection limits across runs.
	limits limitMemory
	logf   func(format string, args ...any)
	// busyBase and busyMax bound how long a refusal below the connections
	// the server already took holds its slot back (connlimit.go): the
	// retry policy's BaseDelay, doubling up to its MaxDelay.
	busyBase, busyMax time.Duration

	mu    sync.Mutex
	hosts map[string]*hostPool
	owner map[*control.Conn]*hostPool // connections handed out or idle
}

type hostPool struct {
	t     resume.Target  // the first target seen: server and login
	slots chan struct{}  // one token per connection in use or idle, or held back by the limit
	idle  chan *idleConn // idle connections; each holds its slot
	limit connLimit
}

type idleConn struct {
	c    *control.Conn
	stop context.CancelFunc
	done chan struct{}
}

// limitMemory remembers a server's connection limit (connlimit.go):
// limit is the one known, 0 for none, and whether it is due for a
// retest; learn records what a run found.
type limitMemory interface {
	limit(t resume.Target) (known int, retest bool)
	learnLimit(t resume.Target, n int, refused bool)
}

func newPool(max int, dial func(context.Context, resume.Target, bool) (*control.Conn, error),
	release func(resume.Target, *control.Conn, bool) noop.Schedule, limits limitMemory, logf func(string, ...any)) *pool {
	return &pool{max: max, dial: dial, release: release, limits: limits, logf: logf,
		busyBase: resume.DefaultPolicy.BaseDelay, busyMax: resume.DefaultPolicy.MaxDelay,
		hosts: map[string]*hostPool{}, owner: map[*control.Conn]*hostPool{}}
}

func poolKey(t resume.Target) string {
	return t.Addr + "\x00" + t.User + "\x00" + string(rune('0'+t.TLSMode))
}

func (p *pool) host(t resume.Target) *hostPool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := poolKey(t)
	h := p.hosts[k]
	if h == nil {
		h = &hostPool{t: t, slots: make(chan struct{}, p.max), idle: make(chan *idleConn, p.max)}
		h.limit.base, h.limit.ceiling = min(p.busyBase, p.busyMax), p.busyMax // a cap below the base lowers the base
		known, retest := p.limits.limit(t)
		h.limit.start(h.slots, p.max, known, retest)
		p.hosts[k] = h
	}
	return h
}

// Conn returns an idle connection to t's server, or dials one when fewer
// than max are open, or waits for either.
func (p *pool) Conn(ctx context.Context, t resume.Target) (*control.Conn, error) {
	h := p.host(t)
	for {
		var ic *idleConn
		select { // an idle connection first: no new login
		case ic = <-h.idle:
		default:
			select {
			case ic = <-h.idle:
			case h.slots <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if ic != nil {
			ic.stop()
			<-ic.done // the keepalive is not mid-NOOP any more
			if ic.c.Err() == nil {
				return ic.c, nil
			}
			p.release(h.t, ic.c, false) // found dead while idle
			p.drop(ic.c, h)
			continue
		}
		first := h.limit.alone()
		h.limit.dial()
		c, err := p.dial(ctx, t, first)
		if err != nil {
			switch r, open, wait := h.limit.failed(err); r {
			case limitHit:
				// The server's per-client limit: this slot stays held back,
				// and the caller waits for a connection that is open.
				if h.limit.firstRefusal(r) && p.logf != nil {
					p.logf("%s refused a connection while %d were open (%v): going on with the connections it accepts, and remembering that", t.Addr, open, err)
				}
				continue
			case busyRefusal:
				// Fewer than the server took before: sessions it still holds
				// fill it. The slot comes back after wait; meanwhile the
				// caller waits for a connection that is open.
				if h.limit.firstRefusal(r) && p.logf != nil {
					p.logf("%s refused a connection while %d were open, fewer than it took at once before (%v): sessions lost on the way may still be open there; trying again in %v, limit not learned", t.Addr, open, err, wait)
				}
				time.AfterFunc(wait, func() { <-h.slots })
				continue
			}
			<-h.slots
			return nil, err
		}
		if h.limit.opened() {
			<-h.slots // one more got in than the remembered limit: try one more yet
		}
		p.mu.Lock()
		p.owner[c] = h
		p.mu.Unlock()
		return c, nil
	}
}

// Release takes a connection back: healthy ones wait for reuse with a
// keepalive, others are closed and free their slot.
func (p *pool) Release(c *control.Conn, healthy bool) {
	p.mu.Lock()
	h := p.owner[c]
	p.mu.Unlock()
	if h == nil {
		c.Close() // not ours
		return
	}
	sched := p.release(h.t, c, healthy)
	if !healthy {
		p.drop(c, h)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	ic := &idleConn{c: c, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(ic.done)
		if err := noop.KeepIdle(ctx, c, sched); err != nil {
			c.Close() // found dead while idle; Conn drops it
		}
	}()
	h.idle <- ic // never blocks: at most max connections, idle or not
}

// drop closes a connection and frees its slot.
func (p *pool) drop(c *control.Conn, h *hostPool) {
	c.Close()
	p.mu.Lock()
	delete(p.owner, c)
	p.mu.Unlock()
	h.limit.closed()
	<-h.slots
}

// close ends every idle connection with QUIT, and remembers what each
// server's connection limit turned out to be.
func (p *pool) close() {
	p.mu.Lock()
	var all []*idleConn
	for _, h := range p.hosts {
		for len(h.idle) > 0 {
			all = append(all, <-h.idle)
		}
		if n, refused := h.limit.outcome(p.max); n > 0 {
			p.limits.learnLimit(h.t, n, refused)
		}
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, ic := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ic.stop()
			<-ic.done
			ic.c.Quit(context.Background())
			p.mu.Lock()
			delete(p.owner, ic.c)
			p.mu.Unlock()
		}()
	}
	wg.Wait()
}
