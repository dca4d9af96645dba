package keepftp

import (
	"context"
	"sync"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
)

// pool keeps control connections per server and account for reuse across
// files, at most max per server at once. Idle connections are kept alive
// with NOOP (a NAT forgets idle ones as well as busy ones) and dropped when
// a NOOP fails.
type pool struct {
	max  int
	opts *resume.Options
	prof *profiles

	mu    sync.Mutex
	hosts map[string]*hostPool
	owner map[*control.Conn]*hostPool // connections handed out or idle
}

type hostPool struct {
	t     resume.Target  // the first target seen: server and login
	slots chan struct{}  // one token per connection in use or idle
	idle  chan *idleConn // idle connections; each holds its slot
}

type idleConn struct {
	c    *control.Conn
	stop context.CancelFunc
	done chan struct{}
}

func newPool(max int, opts *resume.Options, prof *profiles) *pool {
	return &pool{max: max, opts: opts, prof: prof, hosts: map[string]*hostPool{}, owner: map[*control.Conn]*hostPool{}}
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
			p.prof.learn(h.t, ic.c) // found dead while idle
			p.drop(ic.c, h)
			continue
		}
		cfg, err := p.opts.Config(t)
		if err != nil {
			<-h.slots
			return nil, err
		}
		p.prof.config(t, &cfg)
		// The caller sends a command at once: the login goes with it.
		cfg.LazyLogin = true
		c, err := control.Dial(ctx, t.Addr, cfg)
		if err != nil {
			<-h.slots
			return nil, err
		}
		p.prof.dialled(t, c)
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
	p.prof.learn(h.t, c)
	if !healthy {
		p.drop(c, h)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	ic := &idleConn{c: c, stop: stop, done: make(chan struct{})}
	var sched noop.Schedule // the transfers' interval: flags, or the profile's, or timeout/4
	if every, on := p.prof.keepalive(h.t, p.opts); on {
		sched.Every = every
	}
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
	<-h.slots
}

// close ends every idle connection with QUIT.
func (p *pool) close() {
	p.mu.Lock()
	var all []*idleConn
	for _, h := range p.hosts {
		for len(h.idle) > 0 {
			all = append(all, <-h.idle)
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
