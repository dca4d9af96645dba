package control

import (
	"crypto/tls"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// What a connection learned about its server and the path to it, for the
// policy above to remember across sessions (see Config.NoEPSV for the way
// back). Facts only: what to do with them is not decided here.

// EPSV reports whether EPSV worked on this connection or was refused (or
// skipped by Config.NoEPSV, which counts as refused); known is false
// while it was not tried.
func (c *Conn) EPSV() (works, known bool) {
	if c.noEPSV.Load() {
		return false, true
	}
	return c.worked.epsv.Load(), c.worked.epsv.Load()
}

// MLSD reports whether MLSD worked on this connection or was refused as a
// command; known is false while it was not tried.
func (c *Conn) MLSD() (works, known bool) {
	if c.noMLSD.Load() {
		return false, true
	}
	return c.worked.mlsd.Load(), c.worked.mlsd.Load()
}

// Pipelining reports what this connection showed of the server and
// commands written together: works when its login written in one go was
// answered; not works when that login failed as ErrPipelining, or when
// this is Dial's second connection, logged in one command at a time
// after the first lost its login (which shows that lockstep works where
// pipelining did not). known is false otherwise: a login still being
// answered, or one made in lockstep from the start (Config.Lockstep).
func (c *Conn) Pipelining() (works, known bool) {
	switch {
	case c.login.worked.Load():
		return true, true
	case c.login.lost.Load():
		return false, true
	}
	return false, false
}

// HashRefused returns the hash commands ("HASH", "XSHA256", ...) the
// server announced but refused as not implemented on this connection, or
// that Config.NoHash named, sorted.
func (c *Conn) HashRefused() []string { return c.hashRefused.list() }

// commandSet is a small set of command names, safe for concurrent use.
type commandSet struct {
	mu   sync.Mutex
	cmds []string
}

func (s *commandSet) add(cmd string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.cmds, cmd) {
		s.cmds = append(s.cmds, cmd)
		slices.Sort(s.cmds)
	}
}

func (s *commandSet) has(cmd string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.cmds, cmd)
}

func (s *commandSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cmds)
}

// worked records probes that succeeded.
type worked struct {
	epsv, mlsd atomic.Bool
}

// TLSVersion is the TLS version of the control connection (tls.VersionTLS13
// and so on), 0 without TLS.
func (c *Conn) TLSVersion() uint16 {
	if tc, ok := c.nc.(*tls.Conn); ok {
		return tc.ConnectionState().Version
	}
	return 0
}

// DeadSilence says whether the control connection went dead after a
// silence, and how long that silence was: commands were written and
// nothing at all came back for at least the timeout, and before the first
// of them the connection had been silent both ways for the returned
// duration. A middlebox that drops silent flows had dropped this one by
// then (a live flow carries the command and brings its reply), so its
// idle limit is at most that silence. ok is false when the connection
// heard from the server after its last unanswered command.
func (c *Conn) DeadSilence() (silence time.Duration, ok bool) {
	return c.unanswered.dead(c.lastRecv.Load(), c.timeout)
}

// noteSent records that commands were written, starting at sent: the time
// for liveness and keepalive, and for DeadSilence. sent is taken before
// the write, so that a reply read before the write call returned is seen
// as coming after its command.
func (c *Conn) noteSent(sent time.Time) {
	now := sent.UnixNano()
	c.unanswered.wrote(now, c.lastRecv.Load(), c.lastSent.Load())
	c.lastSent.Store(now)
}

// silence tracks the first command written since the server last sent
// anything, and the silence before it.
type silence struct {
	mu     sync.Mutex
	first  int64 // unix nanos of the first command since the last byte received; 0 none
	before int64 // nanos of silence, both ways, before it
}

// wrote records a command written at now, given when a byte was last
// received and when the previous command was written.
func (s *silence) wrote(now, lastRecv, lastSent int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first != 0 && lastRecv < s.first {
		return // still unanswered since s.first
	}
	s.first = now
	s.before = now - max(lastRecv, lastSent)
}

func (s *silence) dead(lastRecv int64, timeout time.Duration) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == 0 || lastRecv >= s.first || time.Since(time.Unix(0, s.first)) < timeout {
		return 0, false
	}
	return time.Duration(s.before), true
}
