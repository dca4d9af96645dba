package control

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is a logged-in FTP control connection. Its methods are safe for
// concurrent use: lockstep commands are serialised, and a running Transfer
// holds the command slot until it ends while its NOOPs go straight to the
// writer.
type Conn struct {
	cfg     Config
	nc      net.Conn // the socket (a *tls.Conn under TLS)
	peer    net.IP   // the server's address, if known (through a proxy that resolves names it is not)
	host    string   // the host data connections dial: peer, or the server's name through such a proxy
	remote  net.Addr // the server's address: not the proxy's
	timeout time.Duration
	feats   Features
	greet   string      // the greeting's text
	noEPSV  atomic.Bool // EPSV was refused once: go straight to PASV
	noEPRT  atomic.Bool // EPRT was refused once: go straight to PORT
	noMLSD  atomic.Bool // MLSD was refused on this connection: list with LIST

	sec *secret // the password, masked in all text the connection hands out (secret.go)

	hashSel     atomic.Value // string: the algorithm OPTS HASH selected on this connection
	hashRefused commandSet   // hash commands refused as not implemented (hash.go)

	wmu  sync.Mutex // one writer at a time, whole lines
	w    *bufio.Writer
	held []*waiter // waiters of lines in w not flushed yet (a login written ahead): their clocks start at the flush

	login loginState // the login written ahead (login.go)

	cmdSlot chan struct{} // a token: held by a lockstep command or a transfer

	done chan struct{} // closed when the reader ends

	// Routing state: the reader hands each reply to the running transfer,
	// else to the one lockstep command waiting, else to the late replies
	// a finished transfer still owes. A reply that fits none of them is
	// out of step, and ends the connection (ErrDesync): the reader never
	// waits for anyone, so no number of replies can block it.
	mu       sync.Mutex
	xfer     *Transfer    // the transfer replies are routed to, if any
	waiters  []*waiter    // lockstep commands whose replies are due, in order (several in a Batch)
	late     int          // replies still owed after a transfer's final reply (NOOP and ABOR answers)
	closing  error        // an unsolicited 421 came: the server is about to close
	lateSeen []Reply      // those that came before the resync that takes them
	finalRep *Reply       // the last transfer's final reply, until the next reply: a repeat of it is dropped
	ahead    *passivePort // a passive port opened by an EPSV written ahead (StatPassive); any command written forgets it
	err      error        // why the connection ended, once done is closed
	closeErr error        // set by us before closing the socket on purpose

	quitting atomic.Bool  // QUIT was sent: the server's close is ours
	lastRecv atomic.Int64 // unix nanos of the last byte read on the control connection
	lastSent atomic.Int64 // unix nanos of the last command written
	rtt      atomic.Int64 // nanos of the last lockstep command's round trip

	deferral  deferralState // a Deferral: what the server does with commands written behind a transfer (behind.go)
	earlyTLS  atomic.Int32  // a data TLS handshake started with the transfer command: 0 not tried, 1 worked, 2 failed (EarlyDataTLS)
	sends     uint64        // batches written by sendAll (guarded by mu): a PendingStat's EPSV port is kept only if none came after it
	lateProbe *Transfer     // a transfer whose ProbeBehind answer is among the late replies (guarded by mu)

	unanswered silence // commands the server has not answered yet (learned.go)
	worked     worked  // probes that succeeded (learned.go)
}

// Config says how to dial and log in.
type Config struct {
	User     string // "" logs in as anonymous
	Password string

	// Timeout bounds every wait: a command's reply not complete this long
	// after its write, or a transfer with no sign of life for this long,
	// means ErrPeerDown. TCP keepalive and TCP_USER_TIMEOUT derive from it.
	// Zero means DefaultTimeout.
	Timeout time.Duration

	TLSMode TLSMode
	TLS     *tls.Config // certificates are verified unless it says otherwise

	// UsePASVAddress trusts the IP address in a 227 reply. By default it is
	// ignored and the control connection's peer address is used: a foreign
	// address is either a server behind NAT that got it wrong or an attempt
	// to make us connect elsewhere.
	UsePASVAddress bool

	// Active makes the server connect to us for data (EPRT, or PORT where
	// EPRT is refused; see active.go), for servers that offer no passive
	// mode. Only the control connection's peer may connect.
	Active bool

	// NoEPSV is what an earlier session with the server learned (kept by
	// the policy above): EPSV refused, so ask PASV first over IPv4. It
	// saves a probe. There is no such hint for MLSD: FEAT, read on every
	// connection, says whether MLST is offered now, and what the server
	// says now wins over what an earlier session saw (List).
	NoEPSV bool

	// NoHash names hash commands ("HASH", "XSHA256", ...) an earlier
	// session found refused although FEAT announced them: Hash does not
	// send them (see Conn.HashRefused).
	NoHash []string

	// Logf, if set, receives the protocol log: "> CMD" and "< reply". PASS
	// arguments are masked.
	Logf func(format string, args ...any)

	// DialContext, if set, dials the control and data connections instead
	// of a net.Dialer with keepalive and TCP_USER_TIMEOUT derived from
	// Timeout (tests use it to run over net.Pipe). With a Proxy, it dials
	// the proxy.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Lockstep writes every command alone and waits for its reply before
	// writing the next, the login included, for a server that loses or
	// garbles commands written together (an earlier session learned it:
	// see Conn.Pipelining). By default the login goes in one write and
	// Batch writes its commands together.
	Lockstep bool

	// LazyLogin makes Dial return before the login's replies are in: the
	// login is written with the next command, whose reply is read after
	// the login's, saving a round trip (see login.go). A login the server
	// refuses then fails that command and ends the connection, with the
	// login's error. Ignored with Lockstep.
	LazyLogin bool

	// EarlyDataTLS starts a data connection's TLS handshake right after
	// the transfer command is written, not after the server's preliminary
	// reply (150): the server's answer to the ClientHello then comes with
	// the 150, a round trip sooner. Off by default: a loaded pyftpdlib
	// drops such a data connection without a reply (10 of 15 FTPS upload
	// mirrors under the race detector and six busy loops on two cores)
	// and the transfer fails; vsftpd, proftpd and pure-ftpd take it.
	// An early handshake that fails ends the transfer and the connection,
	// as any failed data handshake does; Conn.EarlyDataTLS says so.
	EarlyDataTLS bool

	// Deferral is what an earlier session learned of the server and
	// commands written at the end of a download's data (Conn.Deferral):
	// AnsweredAfter lets the caller write its check there
	// (Transfer.StatBehind).
	Deferral Deferral

	// Proxy, if set, is the SOCKS5 or HTTP CONNECT proxy that the control
	// connection and every data connection are tunnelled through (see
	// Proxy). Active mode cannot go through it (ErrProxyActive).
	Proxy *Proxy
}

// errDialTimeout is the cause of a dial's context ending by the timeout.
var errDialTimeout = errors.New("dial timeout")

// dial opens a TCP connection to addr, through the proxy if there is one.
// The timeout bounds all of it (the connection, and the proxy's handshake
// and login), and cancelling ctx ends it at once.
func (cfg *Config) dial(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, errDialTimeout)
	defer cancel()
	forward := cfg.DialContext
	if forward == nil {
		forward = newDialer(cfg.Timeout).DialContext
	}
	if cfg.Proxy != nil {
		return cfg.Proxy.dial(ctx, forward, addr)
	}
	return forward(ctx, "tcp", addr)
}

// TLSMode selects plain FTP or FTPS.
type TLSMode int

const (
	TLSNone     TLSMode = iota // plain FTP
	TLSExplicit                // AUTH TLS on the plain port (RFC 4217)
	TLSImplicit                // TLS from the first byte (port 990)
)

// Dial connects to addr ("host:port"), reads the greeting, sets up TLS when
// asked, logs in, reads FEAT and switches to binary mode (TYPE I), so that
// SIZE answers in bytes on every server. The login's commands go in one
// write (see login.go); a server that loses them (ErrPipelining) is
// dialled again and logged in one command at a time, and the connection's
// Pipelining says so. A user name or password holding CR, LF or NUL is
// refused with ErrInvalidArgument before anything is dialled.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if err := cfg.checkCredentials(); err != nil {
		return nil, err
	}
	if cfg.Proxy != nil && cfg.Active {
		return nil, fmt.Errorf("%w (%s): the server would connect back past it; passive mode works through proxies", ErrProxyActive, cfg.Proxy)
	}
	// Through a proxy, every connection of the session goes to the same
	// host: the server's name (the proxy resolves it), or the address it
	// resolved to here, once (socks5://).
	dialAddr := addr
	if cfg.Proxy != nil {
		cfg.logf("connecting to %s through proxy %s", addr, cfg.Proxy)
		rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		var err error
		dialAddr, err = cfg.Proxy.resolve(rctx, addr)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
	}
	c, err := dialConn(ctx, addr, dialAddr, cfg)
	if errors.Is(err, ErrPipelining) && !cfg.Lockstep && ctx.Err() == nil {
		cfg.logf("%v; logging in again, one command at a time", err)
		cfg.Lockstep = true
		if c, err = dialConn(ctx, addr, dialAddr, cfg); err == nil {
			c.login.lost.Store(true) // and lockstep got in: see Pipelining
		}
	}
	return c, err
}

// dialConn is one dial of Dial: a TCP connection, and the session on it.
func dialConn(ctx context.Context, addr, dialAddr string, cfg Config) (*Conn, error) {
	nc, err := cfg.dial(ctx, dialAddr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c, err := newConn(ctx, nc, addr, dialAddr, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	return c, nil
}

func (cfg *Config) logf(format string, args ...any) {
	if cfg.Logf != nil {
		cfg.Logf(format, args...)
	}
}

// NewConn runs the FTP session setup of Dial over an established
// connection nc to addr. On failure nc is closed. With a Config.Proxy, nc
// is taken to be a tunnel to addr, and data connections are tunnelled to
// addr's host.
func NewConn(ctx context.Context, nc net.Conn, addr string, cfg Config) (*Conn, error) {
	return newConn(ctx, nc, addr, addr, cfg)
}

// newConn is NewConn where data connections go to dialAddr's host: the
// address addr's name resolved to, for a proxy given addresses.
func newConn(ctx context.Context, nc net.Conn, addr, dialAddr string, cfg Config) (*Conn, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if err := cfg.checkCredentials(); err != nil {
		nc.Close()
		return nil, err
	}
	var sec *secret
	if cfg.User == "" {
		cfg.User, cfg.Password = "anonymous", "keepftp@" // ours, and no secret
	} else {
		sec = newSecret(cfg.Password)
	}
	if cfg.TLSMode != TLSNone {
		cfg.TLS = tlsConfigFor(cfg.TLS, addr)
	}
	c := &Conn{
		cfg:     cfg,
		sec:     sec,
		nc:      nc,
		timeout: cfg.Timeout,
		cmdSlot: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	c.setPeer(nc, dialAddr)
	now := time.Now().UnixNano()
	c.lastRecv.Store(now)
	c.lastSent.Store(now)
	c.noEPSV.Store(cfg.NoEPSV)
	c.deferral.Store(int32(cfg.Deferral))
	for _, cmd := range cfg.NoHash {
		c.hashRefused.add(cmd)
	}
	r, greetingPending, err := c.handshake(ctx)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if cfg.Lockstep {
		go c.readLoop(r)
		if err := c.lockstepLogin(ctx); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	if err := c.holdLogin(greetingPending); err != nil {
		nc.Close()
		return nil, err
	}
	go c.readLoop(r)
	if cfg.LazyLogin {
		return c, nil
	}
	if err := c.settleLogin(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// handshake runs before the reader goroutine exists, because AUTH TLS
// replaces the socket under the reader: it sets up TLS, synchronously,
// bounded by ctx and the timeout, and reads the greeting where it must
// (under AUTH TLS, or in lockstep). Otherwise the greeting is left to the
// reader, behind the login written ahead: greetingPending. Under AUTH
// TLS, AUTH TLS is written before the greeting is read, except in
// lockstep.
func (c *Conn) handshake(ctx context.Context) (r *replyReader, greetingPending bool, err error) {
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	if c.cfg.TLSMode == TLSImplicit {
		tc := tls.Client(c.nc, c.cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, false, tlsHandshakeError(err)
		}
		c.nc = tc
	}
	r = c.newReader()
	c.w = bufio.NewWriter(c.nc)
	if !c.cfg.Lockstep && c.cfg.TLSMode != TLSExplicit {
		if err := c.nc.SetDeadline(time.Time{}); err != nil {
			return nil, false, err
		}
		return r, true, nil
	}
	var authSent chan error
	if c.cfg.TLSMode == TLSExplicit && !c.cfg.Lockstep {
		// Written while the greeting is read: a server over net.Pipe
		// writes its greeting before it reads.
		authSent = make(chan error, 1)
		go func() { authSent <- c.writeLine(fixedCmd("AUTH", "TLS")) }()
	}
	greeting, err := c.readGreeting(r)
	if authSent != nil {
		if werr := <-authSent; err == nil {
			err = werr
		}
	}
	if err != nil {
		return nil, false, ctxErr(ctx, err)
	}
	c.greet = greeting.Msg
	if c.cfg.TLSMode == TLSExplicit {
		if authSent == nil {
			if err := c.writeLine(fixedCmd("AUTH", "TLS")); err != nil {
				return nil, false, ctxErr(ctx, err)
			}
		}
		rep, err := r.next()
		if err != nil {
			return nil, false, ctxErr(ctx, err)
		}
		if !canAnswer("AUTH", rep.Code) {
			return nil, false, desyncErr(rep, "AUTH TLS")
		}
		if rep.Code != 234 {
			return nil, false, rep.err("AUTH TLS")
		}
		tc := tls.Client(c.nc, c.cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, false, tlsHandshakeError(err)
		}
		c.nc = tc
		c.w = bufio.NewWriter(c.nc)
		r = c.newReader()
	}
	if err := c.nc.SetDeadline(time.Time{}); err != nil {
		return nil, false, err
	}
	return r, false, nil
}

// maxPrelimGreetings bounds the 120 replies ("service ready in nnn
// minutes") taken before the greeting.
const maxPrelimGreetings = 10

func (c *Conn) readGreeting(r *replyReader) (Reply, error) {
	for range maxPrelimGreetings + 1 {
		rep, err := r.next()
		if err != nil {
			return rep, err
		}
		if rep.Preliminary() { // 120: service ready in nnn minutes
			continue
		}
		if rep.Code != 220 {
			return rep, refused(rep.err("greeting"))
		}
		return rep, nil
	}
	return Reply{}, fmt.Errorf("%w: more than %d preliminary replies before the greeting", ErrMalformedReply, maxPrelimGreetings)
}

// lockstepLogin logs in one command at a time (Config.Lockstep).
func (c *Conn) lockstepLogin(ctx context.Context) error {
	rep, err := c.Cmd(ctx, 0, "USER", c.cfg.User)
	if err != nil {
		return refused(err)
	}
	switch {
	case rep.Code == 331 || rep.Code == 332:
		if _, err := c.Cmd(ctx, 2, "PASS", c.cfg.Password); err != nil {
			return refused(err)
		}
	case rep.Class() != 2:
		return refused(rep.err(shown("USER", c.cfg.User)))
	}
	if c.cfg.TLSMode != TLSNone {
		if _, err := c.Cmd(ctx, 2, "PBSZ", "0"); err != nil {
			return err
		}
		if _, err := c.Cmd(ctx, 2, "PROT", "P"); err != nil {
			return err
		}
	}
	c.feats = Features{}
	if rep, err := c.Cmd(ctx, 0, "FEAT", ""); err != nil {
		return err
	} else if rep.Code == 211 {
		c.feats = parseFeat(rep.data())
	}
	if c.feats.Has("UTF8") {
		c.Cmd(ctx, 0, "OPTS", "UTF8 ON") // best effort: names are bytes to us anyway
	}
	_, err = c.Cmd(ctx, 2, "TYPE", "I")
	return err
}

// checkCredentials refuses a user name or password that could not be sent
// as one command line. The password's value is never shown.
func (cfg *Config) checkCredentials() error {
	if err := CheckArg("user", cfg.User); err != nil {
		return err
	}
	return checkSecret("password", cfg.Password)
}

// newReader returns a reply reader over the current socket that records
// liveness.
func (c *Conn) newReader() *replyReader {
	r := newReplyReader(&activityReader{c: c})
	r.sec = c.sec
	return r
}

// activityReader records the time of every read on the control connection:
// liveness.
type activityReader struct{ c *Conn }

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.c.nc.Read(p)
	if n > 0 {
		a.c.lastRecv.Store(time.Now().UnixNano())
	}
	return n, err
}

// readLoop is the one goroutine that reads the control connection.
func (c *Conn) readLoop(r *replyReader) {
	var err error
	for {
		var rep Reply
		rep, err = r.next()
		if err != nil {
			break
		}
		c.logf("< %d %s", rep.Code, rep.Msg)
		if err = c.route(rep); err != nil {
			c.logf("%v", err)
			break
		}
	}
	c.mu.Lock()
	switch {
	case c.closeErr != nil:
		c.err = c.closeErr
	case c.quitting.Load():
		c.err = ErrClosed
	case errors.Is(err, ErrMalformedReply), errors.Is(err, ErrConnLost):
		c.err = err
	case c.closing != nil:
		c.err = c.closing
	case errors.Is(err, io.EOF):
		c.err = fmt.Errorf("%w: closed by the server", ErrConnLost)
	default:
		c.err = fmt.Errorf("%w: %v", ErrConnLost, err)
	}
	t := c.xfer
	c.xfer = nil
	c.mu.Unlock()
	c.nc.Close()
	close(c.done)
	if t != nil {
		t.lost()
	}
}

// waiter is a lockstep command awaiting its reply.
type waiter struct {
	verb     string
	show     string
	sent     time.Time
	greeting bool       // the greeting, not a command's reply: 1xx replies before it go into stale
	probe    bool       // a ProbeBehind NOOP's answer, queued after the transfer (probeAnswerQueued): nobody awaits it
	login    bool       // a command of the login written ahead: its reply is judged by settleLogin
	resync   bool       // a resync's PWD: every reply before its 257 is discarded into stale
	stale    []Reply    // guarded by Conn.mu until the reply is delivered
	reply    chan Reply // capacity 1: the reader never waits
}

// route hands a reply to whoever it belongs to, without ever blocking. An
// error means the reply belongs to no one: the connection is out of step
// and ends.
func (c *Conn) route(rep Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.xfer; t != nil {
		final, err := t.route(rep)
		if final {
			c.xfer = nil // the final reply ends transfer routing
			c.late = t.owed()
			if t.probe && !t.probeSeen {
				c.lateProbe = t
			}
			c.finalRep = &rep
		}
		return err
	}
	if f := c.finalRep; f != nil {
		c.finalRep = nil
		if rep.Code == f.Code && rep.Msg == f.Msg {
			// Some servers send a transfer's final reply twice. The
			// repeat answers nothing: taken as out of step, it would end
			// the connection, fail the check after every transfer and
			// make it one attempt more.
			c.logf("%d %s repeats the transfer's final reply: dropped", rep.Code, firstLine(rep.Msg))
			return nil
		}
	}
	if len(c.waiters) > 0 {
		w := c.waiters[0]
		if w.greeting && rep.Preliminary() { // 120: service ready in nnn minutes
			if len(w.stale) >= maxPrelimGreetings {
				return fmt.Errorf("%w: more than %d preliminary replies before the greeting", ErrMalformedReply, maxPrelimGreetings)
			}
			w.stale = append(w.stale, rep)
			return nil
		}
		if w.resync && rep.Code != 257 && rep.Code != 421 {
			if len(w.stale) >= maxDiscard {
				return fmt.Errorf("%w: more than %d stale replies before the resync's 257", ErrDesync, maxDiscard)
			}
			if p := c.lateProbe; p != nil && isNoopAnswer(rep.Code) {
				p.noteProbe(false)
				c.lateProbe = nil
			}
			w.stale = append(w.stale, rep)
			return nil
		}
		if !w.resync && !w.greeting && !canAnswer(w.verb, rep.Code) {
			return desyncErr(rep, w.show)
		}
		if p := c.lateProbe; w.probe && p != nil {
			p.noteProbe(false)
			c.lateProbe = nil
		}
		c.waiters[0] = nil
		c.waiters = c.waiters[1:]
		w.reply <- rep
		return nil
	}
	if c.late > 0 {
		c.late--
		if p := c.lateProbe; p != nil { // the first late answer is the probe's: written before any later NOOP
			p.noteProbe(false)
			c.lateProbe = nil
		}
		c.lateSeen = append(c.lateSeen, rep)
		return nil
	}
	if c.closing != nil {
		return c.closing
	}
	if rep.Code == 421 { // the server's idle timer, typically
		c.closing = fmt.Errorf("%w: the server is closing it: %d %s", ErrConnLost, rep.Code, clip(firstLine(rep.Msg)))
		// The server closes next; let it (it is its timer that ended the
		// session), but not for long. No command can start meanwhile:
		// Err reports the 421.
		c.nc.SetReadDeadline(time.Now().Add(min(c.timeout, closeWait)))
		return nil
	}
	return desyncErr(rep, "")
}

// Cmd writes the command verb with its argument arg ("" for none) and
// waits for its reply. An argument holding CR, LF or NUL, or a verb that
// is not a plain word, is refused with ErrInvalidArgument before anything
// is written. If expectCode is not zero, a reply of another code (1 digit:
// class, 2 digits: group, 3 digits: exact code, as in
// textproto.Reader.ReadResponse) is returned as a *ReplyError. Transfer
// commands go through StartTransfer instead.
//
// Cancelling ctx while a reply is awaited closes the connection: a reply
// that arrives later would be taken for the next command's.
func (c *Conn) Cmd(ctx context.Context, expectCode int, verb, arg string) (Reply, error) {
	cl, err := newCmd(verb, arg)
	if err != nil {
		return Reply{}, err
	}
	if err := c.acquire(ctx); err != nil {
		return Reply{}, err
	}
	defer c.release()
	return c.cmdLocked(ctx, expectCode, cl)
}

func (c *Conn) cmdLocked(ctx context.Context, expectCode int, cl cmdLine) (Reply, error) {
	w, err := c.send(cl, false)
	if err != nil {
		return Reply{}, err
	}
	rep, err := c.await(ctx, w)
	if err != nil {
		return rep, err
	}
	c.rtt.Store(int64(time.Since(w.sent)))
	if !codeMatches(rep.Code, expectCode) {
		return rep, rep.err(cl.show)
	}
	return rep, nil
}

func codeMatches(code, expect int) bool {
	switch {
	case expect <= 0:
		return true
	case expect < 10:
		return code/100 == expect
	case expect < 100:
		return code/10 == expect
	default:
		return code == expect
	}
}

// send registers a waiter for cl's reply, then writes cl: a reply that
// comes at once finds its waiter. A resync's waiter takes over the late
// replies a transfer left. Called with the command slot held.
func (c *Conn) send(cl cmdLine, resync bool) (*waiter, error) {
	ws, err := c.sendAll([]cmdLine{cl}, resync)
	if err != nil {
		return nil, err
	}
	return ws[0], nil
}

// sendAll is send for several commands written together (a Batch): one
// waiter each, in order, all with the same write time.
func (c *Conn) sendAll(cls []cmdLine, resync bool) ([]*waiter, error) {
	ws := make([]*waiter, len(cls))
	c.mu.Lock()
	c.ahead = nil // a command written after the EPSV: its port may not be the next transfer's
	c.sends++
	now := time.Now()
	for i, cl := range cls {
		ws[i] = &waiter{verb: cl.verb, show: cl.show, resync: resync, sent: now, reply: make(chan Reply, 1)}
	}
	if resync {
		ws[0].stale, c.lateSeen, c.late = c.lateSeen, nil, 0
	}
	c.waiters = append(c.waiters, ws...)
	c.mu.Unlock()
	if err := c.writeLines(cls); err != nil {
		c.mu.Lock()
		c.waiters = nil // the connection is closed: nothing more is due
		c.mu.Unlock()
		return nil, err
	}
	return ws, nil
}

// await waits for w's reply. The whole reply must be in within the timeout
// of the command's write: a server that trickles a reply, a line or a byte
// at a time, cannot hold a command longer than one that says nothing. On
// failure the connection is closed, because the reply may still come and
// would be taken for the next command's.
func (c *Conn) await(ctx context.Context, w *waiter) (Reply, error) {
	if !w.login && !w.greeting {
		if err := c.settleLogin(ctx); err != nil {
			return Reply{}, fmt.Errorf("%s: %w", w.show, err)
		}
	}
	timer := time.NewTimer(time.Until(c.replyDeadline(w.sent)))
	defer timer.Stop()
	select {
	case rep := <-w.reply:
		return rep, nil
	case <-c.done:
		select {
		case rep := <-w.reply: // a reply that beat the close
			return rep, nil
		default:
		}
		return Reply{}, fmt.Errorf("%s: %w", w.show, c.Err())
	case <-ctx.Done():
		c.closeWith(ErrClosed)
		return Reply{}, fmt.Errorf("%s: %w", w.show, ctx.Err())
	case <-timer.C:
		c.closeWith(ErrPeerDown)
		if c.LastReceived().After(w.sent) {
			return Reply{}, fmt.Errorf("%s: reply not complete within %v: %w", w.show, c.timeout, ErrPeerDown)
		}
		return Reply{}, fmt.Errorf("%s: no reply within %v: %w", w.show, c.timeout, ErrPeerDown)
	}
}

// replyDeadline is when a reply to a command written at sent is late.
func (c *Conn) replyDeadline(sent time.Time) time.Time { return sent.Add(c.timeout) }

func (c *Conn) acquire(ctx context.Context) error {
	if err := c.Err(); err != nil {
		return err
	}
	select {
	case c.cmdSlot <- struct{}{}:
		return nil
	case <-c.done:
		return c.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Conn) release() { <-c.cmdSlot }

// writeLine writes one command line, bounded by the timeout so that a write
// into a dead flow fails instead of blocking.
func (c *Conn) writeLine(cl cmdLine) error { return c.writeLines([]cmdLine{cl}) }

func (c *Conn) logf(format string, args ...any) {
	if c.cfg.Logf == nil {
		return
	}
	if c.sec == nil {
		c.cfg.Logf(format, args...)
		return
	}
	// Every line, ours too: a path or an error can quote the password.
	c.cfg.Logf("%s", c.sec.mask(fmt.Sprintf(format, args...)))
}

// closeWith closes the socket; the reader then ends with cause (nil keeps
// whatever the reader sees).
func (c *Conn) closeWith(cause error) {
	c.mu.Lock()
	if c.closeErr == nil && cause != nil {
		c.closeErr = cause
	}
	c.mu.Unlock()
	c.nc.Close()
}

// closeWait bounds how long Close waits for the reader to end after the
// socket was closed under it.
const closeWait = 5 * time.Second

// Close closes the connection at once. Pending and later calls fail with
// ErrClosed. It waits for the reader goroutine to end, at most closeWait.
func (c *Conn) Close() error {
	c.closeWith(ErrClosed)
	timer := time.NewTimer(closeWait)
	defer timer.Stop()
	select {
	case <-c.done:
		return nil
	case <-timer.C:
		return fmt.Errorf("control connection: the reader did not end within %v of the close", closeWait)
	}
}

// Quit writes QUIT and closes the connection, without waiting for the
// reply: nothing the server could still say changes anything, and
// waiting would cost the caller a round trip. It first waits, briefly,
// for a command or transfer still running to let go of the connection.
func (c *Conn) Quit(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout, 5*time.Second))
	defer cancel()
	c.quitting.Store(true)
	err := c.acquire(ctx)
	if err == nil {
		err = c.writeLine(fixedCmd("QUIT", ""))
		c.release()
	}
	c.Close()
	return err
}

// Done is closed when the connection has ended, for any reason.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err says why the connection ended: ErrClosed (we closed it), ErrPeerDown,
// ErrConnLost or ErrMalformedReply. It is nil while the connection is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.err != nil:
		return c.err
	case c.closeErr != nil:
		return c.closeErr
	}
	return c.closing
}

// Greeting is the text of the server's 220 greeting ("" if the login
// failed before it came). With Config.LazyLogin it waits for the login's
// replies (bounded by the timeout).
func (c *Conn) Greeting() string {
	c.settleLogin(context.Background())
	return c.greet
}

// Features returns the server's FEAT reply, parsed. With
// Config.LazyLogin it waits for the login's replies (bounded by the
// timeout): they are read after those of a command already written.
func (c *Conn) Features() Features {
	c.settleLogin(context.Background())
	return c.feats
}

// Timeout returns the liveness timeout in force.
func (c *Conn) Timeout() time.Duration { return c.timeout }

// LastReceived is when a byte last arrived on the control connection.
func (c *Conn) LastReceived() time.Time { return time.Unix(0, c.lastRecv.Load()) }

// LastSent is when a command was last written.
func (c *Conn) LastSent() time.Time { return time.Unix(0, c.lastSent.Load()) }

// RTT is the round trip of the last lockstep command: an upper bound of
// the network's round trip plus the server's reaction time.
func (c *Conn) RTT() time.Duration { return time.Duration(c.rtt.Load()) }

// RemoteAddr is the server's address (through a proxy, the server's and
// not the proxy's: the address the tunnel goes to, a name if the proxy
// resolves it).
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// setPeer finds the server's address, which data connections go to: the
// socket's peer, or, through a proxy (whose socket's peer is the proxy),
// dialAddr's host.
func (c *Conn) setPeer(nc net.Conn, dialAddr string) {
	host, port, _ := net.SplitHostPort(dialAddr)
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok && c.cfg.Proxy == nil {
		c.peer, c.remote = ta.IP, ta
	} else if c.cfg.Proxy == nil {
		// Not TCP (a net.Pipe in tests): the socket names its peer, and
		// data connections go to dialAddr's host.
		c.peer, c.remote = net.ParseIP(host), nc.RemoteAddr()
	} else {
		c.peer = net.ParseIP(host)
		c.remote = tunnelAddr(dialAddr)
		if c.peer != nil {
			c.remote = &net.TCPAddr{IP: c.peer, Port: atoiPort(port)}
		}
	}
	c.host = host
	if c.peer != nil {
		c.host = c.peer.String()
	}
}

// ipv6 reports whether the server is reached over IPv6, where only EPSV
// works. Through a proxy that resolves the server's name the family is
// unknown, and PASV stays a fallback.
func (c *Conn) ipv6() bool {
	if c.peer == nil {
		return c.cfg.Proxy == nil
	}
	return c.peer.To4() == nil
}

// tunnelAddr is the address of a server reached through a proxy by name.
type tunnelAddr string

func (a tunnelAddr) Network() string { return "tcp" }
func (a tunnelAddr) String() string  { return string(a) }

func atoiPort(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
