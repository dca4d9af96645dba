package control

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Dialling and session setup: the TCP connection (through a proxy if
// configured), TLS, the greeting, and the server's address that data
// connections go to. The login that follows is in login.go; the dialer's
// socket options are in dialer.go.

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
