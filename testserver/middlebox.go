package testserver

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"time"
)

// The middlebox's face: its options and counters, the Middlebox, and its
// life (start, accepting control connections, close). Its control flows
// are in middlebox_control.go, its data flows in middlebox_data.go, and
// the forwarding of TLS it cannot read in middlebox_tls.go.

// ExpireMode is what the middlebox does to a control flow whose state
// expired.
type ExpireMode int

const (
	// ExpireBlackhole drops everything in both directions from then on and
	// keeps both sockets open: the silent NAT drop that makes clients hang.
	ExpireBlackhole ExpireMode = iota
	// ExpireReset resets both sides (SO_LINGER 0 then close).
	ExpireReset
)

// MiddleboxOptions configures NewMiddlebox.
type MiddleboxOptions struct {
	Target string // the FTP server's control address, host:port
	Listen string // default "127.0.0.1:0"
	// IdleTimeout expires a control flow on which no byte went either way
	// for this long; 0 never expires.
	IdleTimeout time.Duration
	Mode        ExpireMode
	// DataCutAfter is a queue: the k-th data flow through the middlebox is
	// reset (both sides) once DataCutAfter[k] bytes were forwarded on it,
	// counting both directions.
	DataCutAfter []int64
	// DataStallAfter is a queue like DataCutAfter: the k-th data flow
	// stops forwarding, both ways, once DataStallAfter[k] bytes were
	// forwarded on it, and holds both sockets open, silent (a blackholed
	// flow), until the client closes its side; then it closes the
	// server's. An entry of 0 or less never stalls.
	DataStallAfter []int64
	// ImplicitTLS says the control connection speaks TLS from its first
	// byte. Encrypted control traffic (from the start, or after a 234
	// reply to AUTH TLS) is forwarded as it comes: the middlebox cannot
	// read it, so passive replies are not rewritten (data connections go
	// straight to the server) and BlackholeAfterDataEOF cannot see its
	// moment; idle expiry still works, and BlackholeControl stands in
	// for the trap.
	ImplicitTLS bool
	// Delay is added to every byte's trip in each direction, on the
	// control flow and on data flows (a round trip gains 2*Delay). Each
	// direction is a FIFO delay line, so throughput is not reduced.
	Delay time.Duration
	// DataRate caps each data flow at this many bytes per second in each
	// direction, like a server or link that limits every connection;
	// 0 is no cap.
	DataRate int64
	// Chaos, if set, injects random faults, seeded (see Chaos).
	Chaos *Chaos
	Logf  func(format string, args ...any)
}

// MiddleboxStats counts what the middlebox saw.
type MiddleboxStats struct {
	Sessions  int64 // control flows accepted
	Expired   int64 // control flows expired by IdleTimeout
	DataFlows int64 // data flows forwarded
	DataBytes int64 // data bytes forwarded, both directions
	// ServerClosed counts control flows the server ended first (an idle
	// timer's 421, say), as opposed to the client or an expiry.
	ServerClosed int64
	// Closed counts control flows that ended, whichever side ended them
	// (under TLS a server may end a session with an alert and leave the
	// close to the client).
	Closed int64
	// Chaos counts the faults of MiddleboxOptions.Chaos.
	Chaos ChaosStats
}

// Middlebox is a TCP proxy for FTP, usable in front of any FTP server, that
// behaves like NAT/firewall state: it forwards the control connection and
// the passive data connections (rewriting 227/229 replies to point at
// itself) and expires control flows that stay silent. Data flows never
// expire: a busy flow keeps its state, which is exactly how a long
// download outlives its silent control connection in the field.
//
// It can also stand for distance and a slow path: Delay adds latency each
// way (bytes already in the delay line when a flow expires are still
// delivered, as they would be on a wire), and DataRate caps each data
// connection.
type Middlebox struct {
	opts  MiddleboxOptions
	ln    net.Listener
	ip    net.IP // the middlebox's listening IP; data listeners use it too
	stats *notifier[MiddleboxStats]

	mu       sync.Mutex
	closed   bool
	sessions map[*mbSession]struct{}
	cutQueue []int64
	eofArmed int              // >0: the eofArmed-th data flow to reach server EOF blackholes its control flow
	verbs    map[string]int64 // commands seen on plain control flows, by verb
	seen     map[string]int64 // transfer command lines seen, for Chaos's keyed draws
	stallQ   []int64

	wg sync.WaitGroup
}

// NewMiddlebox starts a middlebox listening for control connections.
func NewMiddlebox(opts MiddleboxOptions) (*Middlebox, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Target == "" {
		return nil, errors.New("testserver: MiddleboxOptions.Target is empty")
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, err
	}
	ip := ln.Addr().(*net.TCPAddr).IP
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
		if ln.Addr().(*net.TCPAddr).IP.To4() == nil {
			ip = net.IPv6loopback
		}
	}
	m := &Middlebox{
		opts:     opts,
		ln:       ln,
		ip:       ip,
		stats:    newNotifier[MiddleboxStats](),
		sessions: make(map[*mbSession]struct{}),
		cutQueue: slices.Clone(opts.DataCutAfter),
		verbs:    make(map[string]int64),
		seen:     make(map[string]int64),
		stallQ:   slices.Clone(opts.DataStallAfter),
	}
	m.wg.Add(1)
	go m.accept()
	return m, nil
}

// Addr is the control address clients connect to.
func (m *Middlebox) Addr() string { return m.ln.Addr().String() }

// Stats returns a snapshot of the counters.
func (m *Middlebox) Stats() MiddleboxStats { return m.stats.get() }

// WaitStats blocks until cond holds for the counters or ctx is done, so
// tests can wait for an expiry without sleeping.
func (m *Middlebox) WaitStats(ctx context.Context, cond func(MiddleboxStats) bool) (MiddleboxStats, error) {
	return m.stats.wait(ctx, cond)
}

// BlackholeAfterDataEOF arms a one-shot trap: counting data flows that
// reach EOF from the server side from this call on, across all sessions,
// the n-th one (1-based) blackholes the control flow of its session, so
// that the transfer's final reply is lost: the client gets all the data
// but never the 226.
//
// Precisely, the control flow is blackholed when the first final reply
// (2xx-5xx) after that EOF reaches the middlebox, and that reply is
// dropped; replies before it, such as the transfer's 150, still get
// through even if the middlebox forwarded them late. While the trap is
// armed, a final reply is held until the session's open data flows have
// seen server EOF, because a server may send its 226 before the
// middlebox has read the end of the data.
func (m *Middlebox) BlackholeAfterDataEOF(n int) {
	m.mu.Lock()
	m.eofArmed = max(n, 0)
	m.mu.Unlock()
}

func (m *Middlebox) armed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.eofArmed > 0
}

// dataEOF reports whether this server EOF is the one the trap waits for.
func (m *Middlebox) dataEOF() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.eofArmed == 0 {
		return false
	}
	m.eofArmed--
	return m.eofArmed == 0
}

// Close stops the middlebox and closes every flow. It is idempotent.
func (m *Middlebox) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	sessions := make([]*mbSession, 0, len(m.sessions))
	for s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.Unlock()
	err := m.ln.Close()
	for _, s := range sessions {
		s.closeAll()
	}
	m.wg.Wait()
	return err
}

func (m *Middlebox) logf(format string, args ...any) {
	if m.opts.Logf != nil {
		m.opts.Logf(format, args...)
	}
}

func (m *Middlebox) accept() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", m.opts.Target, 10*time.Second)
		if err != nil {
			m.logf("middlebox: dial %s: %v", m.opts.Target, err)
			resetConn(c)
			continue
		}
		s := &mbSession{m: m, client: c, server: up, done: make(chan struct{}), toClient: c, toServer: up}
		if d := m.opts.Delay; d > 0 {
			s.clientLine, s.serverLine = newDelayLine(c, d), newDelayLine(up, d)
			s.toClient, s.toServer = s.clientLine, s.serverLine
		}
		s.touch()
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		m.sessions[s] = struct{}{}
		m.wg.Add(3)
		m.mu.Unlock()
		m.stats.update(func(st *MiddleboxStats) { st.Sessions++ })
		go s.clientToServer()
		go s.serverToClient()
		go s.watchIdle()
	}
}
