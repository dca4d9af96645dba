package control

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
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
	peer    net.IP   // the control connection's peer, used for data connections
	timeout time.Duration
	feats   Features
	greet   string      // the greeting's text
	noEPSV  atomic.Bool // EPSV was refused once: go straight to PASV
	noEPRT  atomic.Bool // EPRT was refused once: go straight to PORT

	wmu sync.Mutex // one writer at a time, whole lines
	w   *bufio.Writer

	cmdSlot chan struct{} // a token: held by a lockstep command or a transfer

	replies chan Reply    // replies outside a transfer, in order
	done    chan struct{} // closed when the reader ends

	mu       sync.Mutex
	xfer     *Transfer // the transfer replies are routed to, if any
	err      error     // why the connection ended, once done is closed
	closeErr error     // set by us before closing the socket on purpose

	ar       *activityReader // under the current reply reader
	quitting atomic.Bool     // QUIT was sent: the server's close is ours
	lastRecv atomic.Int64    // unix nanos of the last byte read on the control connection
	lastSent atomic.Int64    // unix nanos of the last command written
	rtt      atomic.Int64    // nanos of the last lockstep command's round trip
}

// Config says how to dial and log in.
type Config struct {
	User     string // "" logs in as anonymous
	Password string

	// Timeout bounds every wait: no sign of life for this long means
	// ErrPeerDown. TCP keepalive and TCP_USER_TIMEOUT derive from it.
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

	// Logf, if set, receives the protocol log: "> CMD" and "< reply". PASS
	// arguments are masked.
	Logf func(format string, args ...any)

	// DialContext, if set, dials the control and data connections instead
	// of a net.Dialer with keepalive and TCP_USER_TIMEOUT derived from
	// Timeout (tests use it to run over net.Pipe).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (cfg *Config) dial(ctx context.Context, addr string) (net.Conn, error) {
	if cfg.DialContext != nil {
		return cfg.DialContext(ctx, "tcp", addr)
	}
	return newDialer(cfg.Timeout).DialContext(ctx, "tcp", addr)
}

// TLSMode selects plain FTP or FTPS.
type TLSMode int

const (
	TLSNone     TLSMode = iota // plain FTP
	TLSExplicit                // AUTH TLS on the plain port (RFC 4217)
	TLSImplicit                // TLS from the first byte (port 990)
)

// maxLine bounds one reply line, so a hostile server cannot make us buffer
// without end.
const maxLine = 64 << 10

// Dial connects to addr ("host:port"), reads the greeting, sets up TLS when
// asked, logs in, reads FEAT and switches to binary mode (TYPE I), so that
// SIZE answers in bytes on every server. A user name or password holding
// CR, LF or NUL is refused with ErrInvalidArgument before anything is
// dialled.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if err := cfg.checkCredentials(); err != nil {
		return nil, err
	}
	nc, err := cfg.dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c, err := NewConn(ctx, nc, addr, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	return c, nil
}

// NewConn runs the FTP session setup of Dial over an established
// connection nc to addr. On failure nc is closed.
func NewConn(ctx context.Context, nc net.Conn, addr string, cfg Config) (*Conn, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if err := cfg.checkCredentials(); err != nil {
		nc.Close()
		return nil, err
	}
	if cfg.User == "" {
		cfg.User, cfg.Password = "anonymous", "keepftp@"
	}
	if cfg.TLSMode != TLSNone {
		cfg.TLS = tlsConfigFor(cfg.TLS, addr)
	}
	c := &Conn{
		cfg:     cfg,
		nc:      nc,
		timeout: cfg.Timeout,
		cmdSlot: make(chan struct{}, 1),
		replies: make(chan Reply, 64),
		done:    make(chan struct{}),
	}
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.peer = ta.IP
	} else if host, _, err := net.SplitHostPort(addr); err == nil {
		c.peer = net.ParseIP(host)
	}
	now := time.Now().UnixNano()
	c.lastRecv.Store(now)
	c.lastSent.Store(now)
	r, err := c.handshake(ctx)
	if err != nil {
		nc.Close()
		return nil, err
	}
	go c.readLoop(r)
	if err := c.login(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// handshake runs before the reader goroutine exists, because AUTH TLS
// replaces the socket under the reader: it reads the greeting and sets up
// TLS, synchronously, bounded by ctx and the timeout.
func (c *Conn) handshake(ctx context.Context) (*textproto.Reader, error) {
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	if c.cfg.TLSMode == TLSImplicit {
		tc := tls.Client(c.nc, c.cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, tlsHandshakeError(err)
		}
		c.nc = tc
	}
	r := c.newReader()
	greeting, err := c.readGreeting(r)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	c.greet = greeting.Msg
	c.w = bufio.NewWriter(c.nc)
	if c.cfg.TLSMode == TLSExplicit {
		if err := c.writeLine(fixedCmd("AUTH", "TLS")); err != nil {
			return nil, ctxErr(ctx, err)
		}
		rep, err := c.readReply(r)
		if err != nil {
			return nil, ctxErr(ctx, err)
		}
		if rep.Code != 234 {
			return nil, rep.err("AUTH TLS")
		}
		tc := tls.Client(c.nc, c.cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, tlsHandshakeError(err)
		}
		c.nc = tc
		c.w = bufio.NewWriter(c.nc)
		r = c.newReader()
	}
	if err := c.nc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *Conn) readGreeting(r *textproto.Reader) (Reply, error) {
	for {
		rep, err := c.readReply(r)
		if err != nil {
			return rep, err
		}
		if rep.Preliminary() { // 120: service ready in nnn minutes
			continue
		}
		if rep.Code != 220 {
			return rep, rep.err("greeting")
		}
		return rep, nil
	}
}

func (c *Conn) login(ctx context.Context) error {
	rep, err := c.Cmd(ctx, 0, "USER", c.cfg.User)
	if err != nil {
		return err
	}
	switch {
	case rep.Code == 331 || rep.Code == 332:
		if _, err := c.Cmd(ctx, 2, "PASS", c.cfg.Password); err != nil {
			return err
		}
	case rep.Class() != 2:
		return rep.err(shown("USER", c.cfg.User))
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
		c.feats = parseFeat(rep.Msg)
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
// liveness and bounds line length.
func (c *Conn) newReader() *textproto.Reader {
	c.ar = &activityReader{c: c}
	return textproto.NewReader(bufio.NewReader(c.ar))
}

// readReply reads one reply through the connection's reader, refusing it
// if the line limit was crossed while it was read.
func (c *Conn) readReply(r *textproto.Reader) (Reply, error) {
	rep, err := readReply(r)
	if c.ar != nil && c.ar.err != nil {
		return Reply{}, c.ar.err
	}
	return rep, err
}

// activityReader records the time of every read on the control connection
// (liveness) and refuses lines longer than maxLine. The refusal is sticky
// and comes without data: bufio.Reader.ReadLine drops an error that comes
// with data, and the limit would be lost.
type activityReader struct {
	c       *Conn
	lineLen int
	err     error
}

func (a *activityReader) Read(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	n, err := a.c.nc.Read(p)
	if n > 0 {
		a.c.lastRecv.Store(time.Now().UnixNano())
		if i := lastNewline(p[:n]); i >= 0 {
			a.lineLen = n - i - 1
		} else {
			a.lineLen += n
		}
		if a.lineLen > maxLine {
			a.err = fmt.Errorf("%w: reply line longer than %d bytes", ErrMalformedReply, maxLine)
			return 0, a.err
		}
	}
	return n, err
}

func lastNewline(p []byte) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '\n' {
			return i
		}
	}
	return -1
}

// readReply reads one complete reply, multi-line replies included.
func readReply(r *textproto.Reader) (Reply, error) {
	code, msg, err := r.ReadResponse(0)
	if err != nil {
		var pe textproto.ProtocolError
		if errors.As(err, &pe) {
			return Reply{}, fmt.Errorf("%w: %v", ErrMalformedReply, err)
		}
		return Reply{}, err
	}
	return Reply{Code: code, Msg: msg}, nil
}

// readLoop is the one goroutine that reads the control connection.
func (c *Conn) readLoop(r *textproto.Reader) {
	var err error
	for {
		var rep Reply
		rep, err = c.readReply(r)
		if err != nil {
			break
		}
		c.logf("< %d %s", rep.Code, rep.Msg)
		if !c.route(rep) {
			err = ErrClosed
			break
		}
	}
	c.mu.Lock()
	switch {
	case c.closeErr != nil:
		c.err = c.closeErr
	case c.quitting.Load():
		c.err = ErrClosed
	case errors.Is(err, ErrMalformedReply):
		c.err = err
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

// route hands a reply to the running transfer, or to the lockstep queue.
func (c *Conn) route(rep Reply) bool {
	c.mu.Lock()
	t := c.xfer
	if t != nil && t.route(rep) {
		c.xfer = nil // the final reply ends transfer routing
	}
	c.mu.Unlock()
	if t != nil {
		return true
	}
	select {
	case c.replies <- rep:
		return true
	case <-c.done:
		return false
	}
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
	sent := time.Now()
	if err := c.writeLine(cl); err != nil {
		return Reply{}, err
	}
	rep, err := c.await(ctx, sent, cl.show)
	if err != nil {
		return rep, err
	}
	c.rtt.Store(int64(time.Since(sent)))
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

// await waits for the next lockstep reply, bounded by liveness: it fails
// with ErrPeerDown when nothing arrived on the control connection for the
// timeout since the later of the command's write and the last byte read.
func (c *Conn) await(ctx context.Context, sent time.Time, cmd string) (Reply, error) {
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	for {
		select {
		case rep := <-c.replies:
			return rep, nil
		case <-c.done:
			select {
			case rep := <-c.replies: // a reply that beat the close
				return rep, nil
			default:
			}
			return Reply{}, fmt.Errorf("%s: %w", cmd, c.Err())
		case <-ctx.Done():
			c.closeWith(ErrClosed)
			return Reply{}, fmt.Errorf("%s: %w", cmd, ctx.Err())
		case <-timer.C:
			if left := c.silenceLeft(sent); left > 0 {
				timer.Reset(left)
				continue
			}
			c.closeWith(ErrPeerDown)
			return Reply{}, fmt.Errorf("%s: no reply: %w", cmd, ErrPeerDown)
		}
	}
}

// silenceLeft is how long the peer may still stay silent before it counts
// as down, measured from the later of since and the last byte received.
func (c *Conn) silenceLeft(since time.Time) time.Duration {
	last := max(c.lastRecv.Load(), since.UnixNano())
	return time.Until(time.Unix(0, last).Add(c.timeout))
}

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
func (c *Conn) writeLine(cl cmdLine) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.logf("> %s", cl.show)
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	c.w.WriteString(cl.line)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		if cerr := c.Err(); cerr != nil {
			return fmt.Errorf("%s: %w", cl.show, cerr)
		}
		c.closeWith(nil)
		return fmt.Errorf("%s: %w: %v", cl.show, ErrConnLost, err)
	}
	c.lastSent.Store(time.Now().UnixNano())
	return nil
}

func (c *Conn) logf(format string, args ...any) {
	if c.cfg.Logf != nil {
		c.cfg.Logf(format, args...)
	}
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

// Close closes the connection at once. Pending and later calls fail with
// ErrClosed.
func (c *Conn) Close() error {
	c.closeWith(ErrClosed)
	<-c.done
	return nil
}

// Quit sends QUIT, waits briefly for its reply and closes the connection.
func (c *Conn) Quit(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout, 5*time.Second))
	defer cancel()
	c.quitting.Store(true)
	_, err := c.Cmd(ctx, 0, "QUIT", "")
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
	if c.err != nil {
		return c.err
	}
	return c.closeErr
}

// Greeting is the text of the server's 220 greeting.
func (c *Conn) Greeting() string { return c.greet }

// Features returns the server's FEAT reply, parsed.
func (c *Conn) Features() Features { return c.feats }

// Timeout returns the liveness timeout in force.
func (c *Conn) Timeout() time.Duration { return c.timeout }

// LastReceived is when a byte last arrived on the control connection.
func (c *Conn) LastReceived() time.Time { return time.Unix(0, c.lastRecv.Load()) }

// LastSent is when a command was last written.
func (c *Conn) LastSent() time.Time { return time.Unix(0, c.lastSent.Load()) }

// RTT is the round trip of the last lockstep command: an upper bound of
// the network's round trip plus the server's reaction time.
func (c *Conn) RTT() time.Duration { return time.Duration(c.rtt.Load()) }

// RemoteAddr is the server's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
