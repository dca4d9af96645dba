package control

import (
	"bufio"
	"context"
	"fmt"
	"net"
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
	closing  error        // an unsolicited 421 came, or a greeting that refused the session: the server is about to close
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
	sends     uint64        // batches written by sendAll (guarded by mu): a PendingStat's EPSV port is kept only if none came after it
	lateProbe *Transfer     // a transfer whose ProbeBehind answer is among the late replies (guarded by mu)
	// behindRetr is a RETR written behind a transfer and not yet taken
	// over (retrbehind.go), guarded by mu.
	behindRetr *behindRetr

	unanswered silence // commands the server has not answered yet (learned.go)
	worked     worked  // probes that succeeded (learned.go)
}

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
	err := c.acquireRaw(ctx) // a RETR written ahead needs no settling: the connection ends
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
// ErrConnLost, ErrMalformedReply, or the server's refusal at its greeting
// (SessionRefused). It is nil while the connection is up.
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

// ipv6 reports whether the server is reached over IPv6, where only EPSV
// works. Through a proxy that resolves the server's name the family is
// unknown, and PASV stays a fallback.
func (c *Conn) ipv6() bool {
	if c.peer == nil {
		return c.cfg.Proxy == nil
	}
	return c.peer.To4() == nil
}
