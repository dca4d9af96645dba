package testserver

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The middlebox's data flows: accepting a data connection on a listener a
// passive reply announced, forwarding it to the server with delay and rate
// cap, and the faults a flow can meet (DataCutAfter, DataStallAfter, Chaos's
// cuts, stalls and pauses).

// acceptData forwards the first connection on a data listener to the
// server's data address, like a NAT's dynamic FTP helper.
func (s *mbSession) acceptData(ln net.Listener, dataAddr string) {
	defer s.m.wg.Done()
	defer func() {
		ln.Close()
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	if tl, ok := ln.(*net.TCPListener); ok {
		// A client that never connects must not leak the listener.
		_ = tl.SetDeadline(time.Now().Add(time.Minute))
	}
	c, err := ln.Accept()
	if err != nil {
		return
	}
	f := &mbFlow{sess: s, client: c, serverEOF: make(chan struct{}), gone: make(chan struct{}), clientDone: make(chan struct{}), cutAt: -1, stallAt: -1, pauseAt: -1}
	s.m.mu.Lock()
	if len(s.m.cutQueue) > 0 {
		f.cutAt = s.m.cutQueue[0]
		s.m.cutQueue = s.m.cutQueue[1:]
	}
	if len(s.m.stallQ) > 0 {
		if s.m.stallQ[0] > 0 {
			f.stallAt = s.m.stallQ[0]
		}
		s.m.stallQ = s.m.stallQ[1:]
	}
	s.m.mu.Unlock()
	// Registered before dialing: the server sends its 150 only after it
	// accepted the data connection, so a later final reply finds the flow.
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		c.Close()
		return
	default:
	}
	if s.flows == nil {
		s.flows = make(map[*mbFlow]struct{})
	}
	s.flows[f] = struct{}{}
	s.mu.Unlock()
	s.m.stats.update(func(st *MiddleboxStats) { st.DataFlows++ })

	up, err := net.DialTimeout("tcp", dataAddr, 10*time.Second)
	if err != nil {
		s.m.logf("middlebox: data dial %s: %v", dataAddr, err)
		f.close()
		return
	}
	f.mu.Lock()
	f.server = up
	closed := f.closed
	f.mu.Unlock()
	if closed {
		up.Close()
		return
	}
	toClient, toServer := f.direction(c), f.direction(up)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); f.pump(up, toClient, true) }()
	go func() { defer wg.Done(); defer close(f.clientDone); f.pump(c, toServer, false) }()
	wg.Wait()
	f.close()
}

// direction is one way of a data flow: its destination, and the delay
// line and rate limiter in front of it when the options ask for them.
type direction struct {
	dst  net.Conn
	line *delayLine
	lim  *rate.Limiter
}

func (f *mbFlow) direction(dst net.Conn) *direction {
	d := &direction{dst: dst}
	if delay := f.sess.m.opts.Delay; delay > 0 {
		d.line = newDelayLine(dst, delay)
		f.mu.Lock()
		f.lines = append(f.lines, d.line)
		if f.closed {
			d.line.close()
		}
		f.mu.Unlock()
	}
	if r := f.sess.m.opts.DataRate; r > 0 {
		// The burst covers one read, and is small against a second's worth
		// so the cap holds over short spans too.
		d.lim = rate.NewLimiter(rate.Limit(r), max(int(r/50), mbBufSize))
	}
	return d
}

// write sends p on (through the delay line if there is one).
func (d *direction) write(p []byte) error {
	var err error
	if d.line != nil {
		_, err = d.line.Write(p)
	} else {
		_, err = d.dst.Write(p)
	}
	return err
}

// then runs fn once what was written before has arrived.
func (d *direction) then(fn func()) {
	if d.line == nil {
		fn()
		return
	}
	if d.line.then(fn) == nil {
		d.line.flush()
	}
}

// pace waits until the rate cap allows n more bytes, or the flow ends.
func (d *direction) pace(n int, gone <-chan struct{}) bool {
	if d.lim == nil {
		return true
	}
	wait := d.lim.ReserveN(time.Now(), n).Delay()
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-gone:
		return false
	}
}

// mbBufSize is a data pump's read size.
const mbBufSize = 32 << 10

// mbFlow is one data connection through the middlebox.
type mbFlow struct {
	sess      *mbSession
	client    net.Conn
	serverEOF chan struct{} // closed when the server->client direction ended
	eofOnce   sync.Once
	gone      chan struct{} // closed by close
	// clientDone is closed when the client->server direction ended.
	clientDone chan struct{}

	mu        sync.Mutex
	server    net.Conn
	forwarded int64
	cutAt     int64 // -1: no cut
	stallAt   int64 // -1: no stall
	stalled   bool
	closed    bool
	lines     []*delayLine

	// Chaos's draw (decide): at most one fault, at a byte count.
	decideOnce sync.Once
	drawn      bool          // a fault was drawn (for ChaosStats.Escaped)
	struck     bool          // and it struck
	chaosCut   bool          // cutAt is Chaos's
	chaosStall bool          // stallAt is Chaos's
	pauseAt    int64         // -1: no pause
	pauseFor   time.Duration // how long the pause lasts
	hold       time.Duration // how long a Chaos stall is held at most (0: until the client ends it)
}

// flowEvent is what take reports when the budget it granted ends at a
// fault's byte count.
type flowEvent int

const (
	evNone flowEvent = iota
	evCut
	evStall
	evPause
)

// take reserves up to n bytes of forwarding budget before the next fault
// point (a cut, a stall or a pause), and says which fault, if any, comes
// right after them. A stall or a pause fires once.
func (f *mbFlow) take(n int) (allowed int, ev flowEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next, at := evNone, int64(-1)
	for _, p := range []struct {
		ev flowEvent
		at int64
	}{{evCut, f.cutAt}, {evStall, f.stallAt}, {evPause, f.pauseAt}} {
		if p.at >= 0 && (at < 0 || p.at < at) {
			next, at = p.ev, p.at
		}
	}
	if next == evNone || int64(n) < at-f.forwarded {
		f.forwarded += int64(n)
		return n, evNone
	}
	allowed = int(at - f.forwarded)
	f.forwarded = at
	switch next {
	case evStall:
		f.stallAt, f.stalled = -1, true
	case evPause:
		f.pauseAt = -1
	}
	if next != evCut || f.chaosCut {
		f.struck = true
	}
	return allowed, next
}

func (f *mbFlow) pump(src net.Conn, dst *direction, fromServer bool) {
	defer func() {
		if fromServer {
			f.eofOnce.Do(func() { close(f.serverEOF) })
		}
	}()
	buf := make([]byte, mbBufSize)
	m := f.sess.m
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f.decide()
		}
		if f.isStalled() {
			// Nothing passes a stalled flow; the client's end ends it for
			// both (a server's data timeout is minutes long).
			if err != nil {
				f.close()
				return
			}
			continue
		}
		for p := buf[:n]; len(p) > 0; {
			if !dst.pace(len(p), f.gone) {
				return
			}
			allowed, ev := f.take(len(p))
			if allowed > 0 {
				if werr := dst.write(p[:allowed]); werr != nil {
					f.close()
					return
				}
				m.stats.update(func(st *MiddleboxStats) { st.DataBytes += int64(allowed) })
			}
			p = p[allowed:]
			switch ev {
			case evCut:
				f.mu.Lock()
				at, chaos := f.cutAt, f.chaosCut
				f.mu.Unlock()
				if chaos {
					m.stats.update(func(st *MiddleboxStats) { st.Chaos.Cuts++ })
				}
				m.logf("middlebox: cutting data flow after %d bytes", at)
				dst.then(f.reset) // after the bytes before the cut arrived
				return
			case evStall:
				f.mu.Lock()
				at, chaos, hold := f.forwarded, f.chaosStall, f.hold
				f.mu.Unlock()
				if chaos {
					m.stats.update(func(st *MiddleboxStats) { st.Chaos.Stalls++ })
				}
				m.logf("middlebox: stalling data flow after %d bytes", at)
				if !fromServer && hold <= 0 {
					// The client's bytes go nowhere either; its end still
					// ends the flow (read on, at the top of the loop).
					p = nil
					continue
				}
				f.holdStalled(fromServer)
				return
			case evPause:
				f.mu.Lock()
				d := f.pauseFor
				f.mu.Unlock()
				m.stats.update(func(st *MiddleboxStats) { st.Chaos.Pauses++ })
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-f.gone:
					t.Stop()
					return
				}
			}
		}
		if err != nil {
			f.mu.Lock()
			stalled := f.stalled
			f.mu.Unlock()
			if errors.Is(err, io.EOF) && !stalled { // a stalled flow passes nothing on, its end neither
				if fromServer && f.sess.m.dataEOF() {
					f.sess.mu.Lock()
					f.sess.trapped = true
					f.sess.mu.Unlock()
				}
				// Pass the half-close on; the other direction may go on.
				dst.then(func() {
					if tc, ok := dst.dst.(*net.TCPConn); ok {
						_ = tc.CloseWrite()
					}
				})
				return
			}
			f.close()
			return
		}
	}
}

func (f *mbFlow) reset() {
	f.mu.Lock()
	srv := f.server
	f.mu.Unlock()
	resetConn(f.client)
	if srv != nil {
		resetConn(srv)
	}
	f.close()
}

func (f *mbFlow) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	srv := f.server
	lines := f.lines
	escaped := f.drawn && !f.struck
	f.mu.Unlock()
	if escaped {
		f.sess.m.stats.update(func(st *MiddleboxStats) { st.Chaos.Escaped++ })
	}
	close(f.gone)
	for _, l := range lines {
		l.close()
	}
	f.client.Close()
	if srv != nil {
		srv.Close()
	}
	f.eofOnce.Do(func() { close(f.serverEOF) })
	s := f.sess
	s.mu.Lock()
	delete(s.flows, f)
	s.mu.Unlock()
}

// resetConn closes c with an RST rather than a FIN.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}
