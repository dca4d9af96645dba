package keepftp

import (
	"errors"
	"sync"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/resume"
)

// A server's per-client connection limit (pure-ftpd -C, vsftpd max_per_ip,
// proftpd MaxClientsPerHost) refuses a new session with 421 at the
// greeting or 530 at the login. When that happens while the pool holds
// (or is dialling) other connections to the server with the same login,
// the refusal can only be the limit: the pool keeps the refused
// connection's slot held back, so that the run goes on with the
// connections it has, and the caller waits for one of them instead of
// failing (the refusal counts against no file's retries). The limit is
// remembered in the profile; the next run starts at it, and tries one
// connection more when the fact is due for a retest, so that a raised
// limit is found at the cost of one refusal. That one more is dialled
// alone, once the others are open: proftpd counts sessions still logging
// in, so two dials at once past the limit can both be refused.
//
// A refusal while fewer connections are open or being dialled than the
// server already took at once in this run is not the limit: sessions the
// network path dropped stay open at the server until its own timeout
// ends them, and count against the limit meanwhile (a chaos soak against
// pure-ftpd went from 7 connections to 2 within seconds, and remembered
// 2). Such a refusal holds its slot back for a while only, waits from the
// retry policy's BaseDelay doubling up to its MaxDelay, and teaches the
// profile nothing.

// connLimit is one server's share of it, guarded by its own lock.
type connLimit struct {
	mu       sync.Mutex
	open     int  // connections logged in and not dropped
	dialling int  // dials in flight
	blocked  int  // slots held back: the limit, as known
	known    int  // the limit as known: the profile's, then raised by probes (0: none)
	probing  bool // trying more than known: a raised limit is found by success
	probeOut bool // a slot was let go for one dial past known, not yet decided
	refused  bool // a refusal in this run showed the limit
	noted    bool // the refusal was logged
	peak     int  // the most connections open at once in this run
	busy     int  // refusals in a row below peak, since the last connection opened
	busyNote bool // such a refusal was logged
	// wait is how long a refusal below peak holds its slot back: base,
	// doubling after each such refusal in a row, up to ceiling.
	base, ceiling time.Duration
}

// refusal is what a failed dial showed about the server's limit.
type refusal int

const (
	notLimit    refusal = iota // no refusal, or one that is no limit's: the caller gets the error
	limitHit                   // the limit: the slot stays held back for the run
	busyRefusal                // below what the server took before: the slot is held back for a while
)

// start holds back the slots above the profile's limit; a retest lets
// one go later (opened). It runs before the host pool hands out any slot.
func (l *connLimit) start(slots chan struct{}, max, known int, retest bool) {
	if known <= 0 || known >= max {
		return
	}
	l.known, l.probing = known, retest
	for range max - known {
		slots <- struct{}{}
		l.blocked++
	}
}

// alone reports whether no connection is open or being dialled: a
// refusal of the next one cannot be the limit.
func (l *connLimit) alone() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open+l.dialling == 0
}

// dialling counts a dial in flight.
func (l *connLimit) dial() {
	l.mu.Lock()
	l.dialling++
	l.mu.Unlock()
}

// opened counts a connection that logged in. While probing: once as many
// as known are open and no other dial is in flight, one held-back slot
// is let go for one dial past the limit (it returns true when the caller
// must free it); when that dial gets in, the limit was raised, and the
// next one is let go the same way.
func (l *connLimit) opened() (release bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dialling--
	l.open++
	l.peak = max(l.peak, l.open)
	l.busy = 0
	if l.probeOut && l.open > l.known {
		l.known, l.probeOut = l.open, false
	}
	if l.probing && !l.probeOut && l.open >= l.known && l.dialling == 0 && l.blocked > 0 {
		l.blocked--
		l.probeOut = true
		return true
	}
	return false
}

// failed counts a dial that failed with err, and reports whether that was
// the server's per-client limit (its slot stays held back), or a refusal
// below the connections the server already took at once in this run (its
// slot is held back for wait), and how many were open.
func (l *connLimit) failed(err error) (r refusal, open int, wait time.Duration) {
	re, refused := control.SessionRefused(err)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dialling--
	// A 421 anywhere, or a 530 at the login (not at the greeting).
	byLimit := refused && (errors.Is(re, control.ErrUnavailable) || errors.Is(re, control.ErrLoginRefused) && re.Cmd != "greeting")
	if !byLimit || l.open+l.dialling == 0 {
		return notLimit, l.open, 0
	}
	if l.open+l.dialling < l.peak {
		// The server took more than this at once before: sessions it still
		// holds (dropped on the way, not yet timed out there) fill it.
		wait = l.base << min(l.busy, 30)
		if wait > l.ceiling || wait <= 0 {
			wait = l.ceiling
		}
		l.busy++
		return busyRefusal, l.open, wait
	}
	l.blocked++
	l.refused, l.probing, l.probeOut = true, false, false
	return limitHit, l.open, 0
}

// closed counts a connection dropped.
func (l *connLimit) closed() {
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
}

// firstRefusal reports whether the refusal is the first of its kind (the
// limit, or busy) this run logs.
func (l *connLimit) firstRefusal(r refusal) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	noted := &l.noted
	if r == busyRefusal {
		noted = &l.busyNote
	}
	first := !*noted
	*noted = true
	return first
}

// outcome is what the run found, for the profile: the connections the
// server took at once when it refused one, or, with no refusal (a busy
// refusal is none), the most that were open.
func (l *connLimit) outcome(max int) (n int, refused bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refused {
		return max - l.blocked, true
	}
	return l.peak, false
}

// learnLimit remembers what the run found about t's connection limit.
func (ps *profiles) learnLimit(t resume.Target, n int, refused bool) {
	if ps.store == nil {
		return
	}
	now := time.Now()
	p := ps.get(t)
	if !p.LearnConns(n, refused, now) {
		return
	}
	k := keyOf(t)
	if err := ps.store.Update(k, func(p *profile.Profile) {
		p.Expire(now)
		p.LearnConns(n, refused, now)
		ps.mu.Lock()
		ps.known[k] = p.Clone()
		ps.mu.Unlock()
	}); err != nil {
		ps.note("server profile not saved: %v", err)
	}
}

// limit is t's remembered connection limit (0: none) and whether it is
// due for a retest.
func (ps *profiles) limit(t resume.Target) (int, bool) {
	return ps.get(t).ConnsFact(time.Now())
}
