package testserver

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Chaos is the middlebox's random-fault mode (MiddleboxOptions.Chaos), for
// soak runs: every data flow and every transfer command on a control flow
// draws its fault from a generator seeded by Seed.
//
// The draw is keyed by what is being transferred, not by the order in
// which flows arrive: a data flow's draw comes from Seed, the session's
// last transfer command ("RETR /a/b") and how many times that command went
// through the middlebox before. So with the same seed the same attempt of
// the same file meets the same fault, however parallel transfers
// interleave, as long as the client asks the same things.
//
// The probabilities are per data flow for Cut, Stall and Pause (at most one
// of them per flow: their sum should stay at most 1), and per transfer
// command for Expire.
type Chaos struct {
	Seed uint64
	// Cut resets a data flow (both sides) once a random count of bytes
	// below Within was forwarded on it.
	Cut float64
	// Stall stops a data flow, both ways, after a random count of bytes
	// below Within: nothing more is forwarded, and the sockets stay open,
	// silent, like a path that lost the flow. The flow is reset when
	// either side closes it, or after StallHold.
	Stall float64
	// Pause holds a data flow for a random time below MaxPause after a
	// random count of bytes below Within, then goes on: a delay spike.
	Pause float64
	// Expire loses a control flow's state just as a transfer command
	// (RETR, STOR, APPE, STOU, LIST, NLST, MLSD) passes: the command is
	// dropped, and the flow is blackholed or reset, with even odds. A
	// blackholed flow's server side is reset after StallHold.
	Expire float64
	// Within bounds the byte count at which a data fault strikes
	// (default 1 MiB); the count is drawn log-uniformly below it, so that
	// a 1 KiB file meets faults about as often as a 1 MiB one. A flow
	// that ends first escapes its fault.
	Within int64
	// MaxPause bounds a pause (default 1s).
	MaxPause time.Duration
	// StallHold is how long a stalled flow, or the server's side of a
	// blackholed control flow, is kept open at most before it is reset
	// (default 30s): a server whose own timeouts are minutes long must not
	// keep its passive port, or its session, that long.
	StallHold time.Duration
}

// ChaosStats counts the faults Chaos injected.
type ChaosStats struct {
	Cuts     int64 // data flows reset
	Stalls   int64 // data flows stalled
	Pauses   int64 // data flows paused
	Expiries int64 // control flows lost at a transfer command
	// Escaped counts data flows that drew a fault but ended before its
	// byte count was reached.
	Escaped int64
}

// Total is the number of faults injected.
func (c ChaosStats) Total() int64 { return c.Cuts + c.Stalls + c.Pauses + c.Expiries }

func (c *Chaos) within() int64 {
	if c.Within > 0 {
		return c.Within
	}
	return 1 << 20
}

func (c *Chaos) maxPause() time.Duration {
	if c.MaxPause > 0 {
		return c.MaxPause
	}
	return time.Second
}

func (c *Chaos) stallHold() time.Duration {
	if c.StallHold > 0 {
		return c.StallHold
	}
	return 30 * time.Second
}

// draw returns the generator for one keyed decision.
func (c *Chaos) draw(kind, cmd string, nth int64) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(cmd))
	return rand.New(rand.NewPCG(c.Seed, h.Sum64()^uint64(nth)*0x9e3779b97f4a7c15))
}

// dataFault is what a data flow drew.
type dataFault int

const (
	faultNone dataFault = iota
	faultCut
	faultStall
	faultPause
)

// dataDraw decides one data flow's fault: which, at what byte count, and
// for a pause how long.
func (c *Chaos) dataDraw(cmd string, nth int64) (dataFault, int64, time.Duration) {
	r := c.draw("data", cmd, nth)
	u := r.Float64()
	// Log-uniform: small files meet faults as often as big ones do.
	at := int64(math.Exp(r.Float64()*math.Log(float64(c.within())))) - 1
	pause := time.Duration(r.Int64N(int64(c.maxPause())))
	switch {
	case u < c.Cut:
		return faultCut, at, 0
	case u < c.Cut+c.Stall:
		return faultStall, at, 0
	case u < c.Cut+c.Stall+c.Pause:
		return faultPause, at, pause
	}
	return faultNone, -1, 0
}

// expireDraw decides whether a transfer command loses its control flow,
// and if so whether by reset.
func (c *Chaos) expireDraw(cmd string, nth int64) (expire, reset bool) {
	r := c.draw("control", cmd, nth)
	u := r.Float64()
	return u < c.Expire, r.IntN(2) == 0
}

// transferVerb reports whether a command line opens a data transfer.
func transferVerb(verb string) bool {
	switch strings.ToUpper(verb) {
	case "RETR", "STOR", "APPE", "STOU", "LIST", "NLST", "MLSD":
		return true
	}
	return false
}

// maxCommandLine bounds the command line the middlebox reassembles: a
// longer one is not read (its bytes are still forwarded).
const maxCommandLine = 4096

// commands reads the command lines in p, a chunk the client sent on a
// plain control flow: it counts their verbs, remembers the last transfer
// command for the data flow that follows, and lets Chaos expire the flow
// at a transfer command. It runs before p is forwarded, so that an expiry
// drops the command.
func (s *mbSession) commands(p []byte) {
	for len(p) > 0 {
		i := strings.IndexByte(string(p), '\n')
		if i < 0 {
			if len(s.cmdBuf)+len(p) <= maxCommandLine {
				s.cmdBuf = append(s.cmdBuf, p...)
			} else {
				s.cmdBuf = s.cmdBuf[:0]
			}
			return
		}
		line := p[:i]
		if len(s.cmdBuf) > 0 {
			s.cmdBuf = append(s.cmdBuf, line...)
			line = s.cmdBuf
		}
		p = p[i+1:]
		s.command(strings.TrimRight(string(line), "\r"))
		s.cmdBuf = s.cmdBuf[:0]
	}
}

func (s *mbSession) command(line string) {
	verb, _, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	if verb == "" || len(verb) > 8 {
		return
	}
	m := s.m
	m.mu.Lock()
	m.verbs[verb]++
	var nth int64
	xfer := transferVerb(verb)
	if xfer {
		nth = m.seen[line]
		m.seen[line]++
	}
	m.mu.Unlock()
	if !xfer {
		return
	}
	s.mu.Lock()
	s.lastXfer, s.lastNth = line, nth
	s.mu.Unlock()
	c := m.chaos()
	if c == nil || c.Expire <= 0 {
		return
	}
	if expire, reset := c.expireDraw(line, nth); expire {
		m.stats.update(func(st *MiddleboxStats) { st.Chaos.Expiries++ })
		m.logf("middlebox: chaos: control flow lost at %q (reset=%v)", line, reset)
		s.expire(reset, false)
		if !reset {
			// The server's side of a blackholed flow ends after StallHold,
			// as if by the server's idle timer: a real server's is minutes
			// long, and its sessions left waiting would fill its
			// per-client limit. The client's side stays silent.
			time.AfterFunc(c.stallHold(), func() { resetConn(s.server) })
		}
	}
}

// lastTransfer returns the session's last transfer command and how many
// times it was seen before.
func (s *mbSession) lastTransfer() (string, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastXfer, s.lastNth
}

// Commands returns how many commands of each verb (upper case) the
// middlebox saw on plain control flows, in every session so far: the
// server's command count, as the path sees it, for a server whose own log
// a test cannot read. A command dropped by an expiry is counted too.
func (m *Middlebox) Commands() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int64, len(m.verbs))
	for k, v := range m.verbs {
		out[k] = v
	}
	return out
}

// SetChaos replaces the random-fault mode (nil turns it off) for data
// flows and commands from now on: a soak's check runs go through the same
// middlebox without faults.
func (m *Middlebox) SetChaos(c *Chaos) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opts.Chaos = c
}

func (m *Middlebox) chaos() *Chaos {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.opts.Chaos
}

// decide draws the flow's Chaos fault, once, at its first byte: by then
// the client sent the transfer command the flow serves (a server sends
// nothing before it has the command, a client nothing before its 150).
func (f *mbFlow) decide() {
	f.decideOnce.Do(func() {
		c := f.sess.m.chaos()
		if c == nil {
			return
		}
		cmd, nth := f.sess.lastTransfer()
		kind, at, pause := c.dataDraw(cmd, nth)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.hold = c.stallHold()
		switch kind {
		case faultCut:
			if f.cutAt < 0 || at < f.cutAt {
				f.cutAt, f.chaosCut = at, true
			}
		case faultStall:
			if f.stallAt < 0 || at < f.stallAt {
				f.stallAt, f.chaosStall = at, true
			}
		case faultPause:
			f.pauseAt, f.pauseFor = at, pause
		}
		if kind != faultNone {
			f.drawn = true
		}
	})
}

// holdStalled keeps a stalled flow open and silent, both sockets open,
// until the client gives up (its side ends: seen by the other pump while
// a download stalls; an upload's stalled pump no longer reads it), or
// until a Chaos stall's hold time is over, then ends it.
func (f *mbFlow) holdStalled(fromServer bool) {
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	var timeout <-chan time.Time
	if hold > 0 {
		t := time.NewTimer(hold)
		defer t.Stop()
		timeout = t.C
	}
	clientDone := f.clientDone
	if !fromServer {
		clientDone = nil // this pump is the client's: nobody reads it now
	}
	select {
	case <-f.gone:
	case <-clientDone:
		f.close()
	case <-timeout:
		f.reset()
	}
}

func (f *mbFlow) isStalled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stalled
}
