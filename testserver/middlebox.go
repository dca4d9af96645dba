package testserver

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

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
	Logf     func(format string, args ...any)
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
	stallQ   []int64
	eofArmed int // >0: the eofArmed-th data flow to reach server EOF blackholes its control flow

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

// mbSession is one control flow and the data flows it announced.
type mbSession struct {
	m      *Middlebox
	client net.Conn
	server net.Conn
	last   atomic.Int64 // unix nanoseconds of the last byte either way
	done   chan struct{}
	// toClient and toServer are where the pumps write: the sockets, or
	// delay lines in front of them (clientLine, serverLine; nil without
	// Delay).
	toClient, toServer     io.Writer
	clientLine, serverLine *delayLine

	mu        sync.Mutex
	expired   bool // blackholed or reset: nothing is forwarded any more
	trapped   bool // BlackholeAfterDataEOF fired on one of this session's flows
	pumps     int  // control pumps finished
	flows     map[*mbFlow]struct{}
	listeners map[net.Listener]struct{}
	closeOnce sync.Once
}

func (s *mbSession) touch() { s.last.Store(time.Now().UnixNano()) }

func (s *mbSession) isTrapped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trapped
}

func (s *mbSession) isExpired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expired
}

// expire kills the control flow's state. reset chooses RST over a
// blackhole; counted says whether it is an idle expiry (for Stats).
func (s *mbSession) expire(reset, counted bool) {
	s.mu.Lock()
	if s.expired {
		s.mu.Unlock()
		return
	}
	s.expired = true
	s.mu.Unlock()
	if counted {
		s.m.stats.update(func(st *MiddleboxStats) { st.Expired++ })
	}
	s.m.logf("middlebox: control flow %s expired (reset=%v)", s.client.RemoteAddr(), reset)
	if reset {
		resetConn(s.client)
		resetConn(s.server)
	}
}

func (s *mbSession) watchIdle() {
	defer s.m.wg.Done()
	idle := s.m.opts.IdleTimeout
	if idle <= 0 {
		return
	}
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		silent := time.Since(time.Unix(0, s.last.Load()))
		if silent >= idle {
			s.expire(s.m.opts.Mode == ExpireReset, true)
			return
		}
		t.Reset(idle - silent)
	}
}

// pumpDone handles a control pump ending because its side closed or
// failed. A live flow is torn down as a whole. A blackholed flow keeps
// the other side's socket open, like a NAT that dropped its state and
// therefore also drops the FIN: only the side that closed is closed.
func (s *mbSession) pumpDone(from net.Conn) {
	s.mu.Lock()
	s.pumps++
	last := s.pumps == 2
	expired := s.expired
	first := s.pumps == 1
	s.mu.Unlock()
	if first && !expired && from == s.server {
		s.m.stats.update(func(st *MiddleboxStats) { st.ServerClosed++ })
	}
	if first {
		s.m.stats.update(func(st *MiddleboxStats) { st.Closed++ })
	}
	if expired && !last {
		from.Close()
		return
	}
	if last {
		s.closeAll()
		return
	}
	s.client.Close()
	s.server.Close()
}

// closeAll closes the control flow, its data listeners and data flows.
func (s *mbSession) closeAll() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.clientLine != nil {
			s.clientLine.close()
			s.serverLine.close()
		}
		s.client.Close()
		s.server.Close()
		s.mu.Lock()
		for l := range s.listeners {
			l.Close()
		}
		flows := make([]*mbFlow, 0, len(s.flows))
		for f := range s.flows {
			flows = append(flows, f)
		}
		s.mu.Unlock()
		for _, f := range flows {
			f.close()
		}
		s.m.mu.Lock()
		delete(s.m.sessions, s)
		s.m.mu.Unlock()
	})
}

func (s *mbSession) clientToServer() {
	defer s.m.wg.Done()
	defer s.pumpDone(s.client)
	buf := make([]byte, 4096)
	for {
		n, err := s.client.Read(buf)
		if n > 0 {
			s.touch()
			if !s.isExpired() {
				if _, werr := s.toServer.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if s.serverLine != nil {
				s.serverLine.flush() // what was said before the close still arrives
			}
			return
		}
	}
}

func (s *mbSession) serverToClient() {
	defer s.m.wg.Done()
	defer s.pumpDone(s.server)
	br := bufio.NewReader(s.server)
	if s.m.opts.ImplicitTLS {
		s.forwardRaw(br)
		return
	}
	for {
		r, err := readReply(br)
		if r.raw != "" {
			s.touch()
			text := r.raw
			if !s.isExpired() {
				switch r.code {
				case 227, 229:
					text = s.passive(r)
				}
				if r.final() && (s.m.armed() || s.isTrapped()) {
					s.waitServerEOF()
					if s.isTrapped() {
						s.expire(false, false)
					}
				}
			}
			if !s.isExpired() {
				if _, werr := io.WriteString(s.toClient, text); werr != nil {
					return
				}
			}
			if r.code == 234 && err == nil { // AUTH TLS accepted: TLS from here on
				s.forwardRaw(br)
				return
			}
		}
		if err != nil {
			if s.clientLine != nil {
				s.clientLine.flush()
			}
			return
		}
	}
}

// waitServerEOF holds a final reply until this session's connected data
// flows have seen EOF from the server (see BlackholeAfterDataEOF).
func (s *mbSession) waitServerEOF() {
	s.mu.Lock()
	var waits []chan struct{}
	for f := range s.flows {
		waits = append(waits, f.serverEOF)
	}
	s.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-s.done:
			return
		}
	}
}

// passive opens a data listener for a 227/229 reply and returns the reply
// rewritten to point at it. If anything fails the reply goes through
// unchanged, and the client will connect straight to the server.
func (s *mbSession) passive(r reply) string {
	targetHost, _, err := net.SplitHostPort(s.m.opts.Target)
	if err != nil {
		return r.raw
	}
	var dataAddr string
	var start, end int
	listenIP := s.m.ip
	if r.code == 227 {
		ip, port, st, en, ok := parse227(r.raw)
		if !ok {
			return r.raw
		}
		if ip == "0.0.0.0" {
			ip = targetHost
		}
		dataAddr, start, end = net.JoinHostPort(ip, strconv.Itoa(port)), st, en
		// 227 can only carry IPv4.
		if listenIP.To4() == nil {
			listenIP = net.IPv4(127, 0, 0, 1)
		}
	} else {
		port, st, en, ok := parse229(r.raw)
		if !ok {
			return r.raw
		}
		dataAddr, start, end = net.JoinHostPort(targetHost, strconv.Itoa(port)), st, en
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(listenIP.String(), "0"))
	if err != nil {
		s.m.logf("middlebox: data listen: %v", err)
		return r.raw
	}
	s.mu.Lock()
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	s.m.wg.Add(1)
	go s.acceptData(ln, dataAddr)

	port := ln.Addr().(*net.TCPAddr).Port
	var repl string
	if r.code == 227 {
		ip4 := listenIP.To4()
		repl = strconv.Itoa(int(ip4[0])) + "," + strconv.Itoa(int(ip4[1])) + "," +
			strconv.Itoa(int(ip4[2])) + "," + strconv.Itoa(int(ip4[3])) + "," +
			strconv.Itoa(port/256) + "," + strconv.Itoa(port%256)
	} else {
		repl = strconv.Itoa(port)
	}
	s.m.logf("middlebox: passive %s -> %s", ln.Addr(), dataAddr)
	return r.raw[:start] + repl + r.raw[end:]
}

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
	f := &mbFlow{sess: s, client: c, serverEOF: make(chan struct{}), gone: make(chan struct{}), clientDone: make(chan struct{}), cutAt: -1, stallAt: -1}
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
}

// take reserves up to n bytes of forwarding budget before the cut or
// stall point.
func (f *mbFlow) take(n int) (allowed int, cut, stall bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stalled {
		return 0, false, true
	}
	allowed = n
	for _, at := range []int64{f.cutAt, f.stallAt} {
		if at >= 0 && int64(allowed) >= at-f.forwarded {
			allowed = int(max(at-f.forwarded, 0))
		}
	}
	f.forwarded += int64(allowed)
	cut = f.cutAt >= 0 && f.forwarded >= f.cutAt
	f.stalled = !cut && f.stallAt >= 0 && f.forwarded >= f.stallAt
	return allowed, cut, f.stalled
}

func (f *mbFlow) pump(src net.Conn, dst *direction, fromServer bool) {
	defer func() {
		if fromServer {
			f.eofOnce.Do(func() { close(f.serverEOF) })
		}
	}()
	buf := make([]byte, mbBufSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !dst.pace(n, f.gone) {
				return
			}
			allowed, cut, stall := f.take(n)
			if allowed > 0 {
				if werr := dst.write(buf[:allowed]); werr != nil {
					f.close()
					return
				}
				f.sess.m.stats.update(func(st *MiddleboxStats) { st.DataBytes += int64(allowed) })
			}
			if cut {
				f.sess.m.logf("middlebox: cutting data flow after %d bytes", f.cutAt)
				dst.then(f.reset) // after the bytes before the cut arrived
				return
			}
			if stall {
				if !fromServer {
					continue // the client's bytes go nowhere either; its end still ends the flow
				}
				f.sess.m.logf("middlebox: stalling data flow after %d bytes", f.stallAt)
				select { // silent, both sockets open, until the client gives up
				case <-f.gone:
				case <-f.clientDone:
				}
				f.close()
				return
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
	f.mu.Unlock()
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
