package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// The login, written in one go.
//
// No reply of the login decides what is written after it: USER, PASS,
// PBSZ and PROT under TLS, FEAT, OPTS UTF8 ON and TYPE I are the same
// whatever the server answers, so they are written together, and on a
// plain connection before the greeting has even come (every server
// reads what waits in its socket after sending the greeting). That makes
// the whole session setup one round trip after the TCP connection, where
// it used to be seven. The replies are then read in order and judged as
// the lockstep login judged them. PASS is written even where USER needs
// none (an anonymous vsftpd answers USER with 230): its reply is then
// ignored ("230 Already logged in", "503 ..."), and the password goes
// only to the server it was meant for. OPTS UTF8 ON is written whether
// or not FEAT lists UTF8; servers that do not know it refuse it, which
// changes nothing.
//
// With Config.LazyLogin, Dial does not wait for those replies: the login
// lines stay in the write buffer and go out with the next command, whose
// reply is read after theirs (settleLogin). The caller that dials to
// send a command at once (a transfer's SIZE, MDTM and EPSV) so saves the
// login's round trip as well.
//
// A server that loses or garbles commands written together shows it
// here first: after its greeting, the login's replies do not come, come
// out of step, or the connection ends. That is ErrPipelining, and
// Conn.Pipelining reports it for the policy above to remember;
// Config.Lockstep then writes every command alone (Dial retries once in
// lockstep by itself). Real servers (vsftpd, proftpd, pure-ftpd,
// pyftpdlib, plain and TLS) all take the pipelined login.

// ErrPipelining reports a login written in one go that the server did not
// answer in order: its replies stopped after the greeting, came out of
// step, or the server closed the connection. Logging in with
// Config.Lockstep may work where this did not.
var ErrPipelining = errors.New("the server did not answer commands written together")

// loginState is the login written ahead, until its replies are judged.
type loginState struct {
	mu       sync.Mutex  // held while the replies are read and judged
	pending  atomic.Bool // replies not judged yet
	greeting *waiter     // the greeting's waiter, when it was not read before the login was written
	ws       []*waiter   // one per login command, in order
	err      error       // the verdict; written before pending is cleared
	worked   atomic.Bool // the pipelined login succeeded
	lost     atomic.Bool // it failed as ErrPipelining
}

// loginLines are the login's commands, in the order written.
func (c *Conn) loginLines() ([]cmdLine, error) {
	user, err := newCmd("USER", c.cfg.User)
	if err != nil {
		return nil, err
	}
	pass, err := newCmd("PASS", c.cfg.Password)
	if err != nil {
		return nil, err
	}
	lines := []cmdLine{user, pass}
	if c.cfg.TLSMode != TLSNone {
		lines = append(lines, fixedCmd("PBSZ", "0"), fixedCmd("PROT", "P"))
	}
	return append(lines, fixedCmd("FEAT", ""), fixedCmd("OPTS", "UTF8 ON"), fixedCmd("TYPE", "I")), nil
}

// holdLogin queues the login's waiters (behind the greeting's, if it is
// still to come) and puts its lines in the write buffer, to go with the
// next write. Called before the reader starts.
func (c *Conn) holdLogin(greetingPending bool) error {
	lines, err := c.loginLines()
	if err != nil {
		return err
	}
	var ws []*waiter
	if greetingPending {
		c.login.greeting = &waiter{verb: "greeting", show: "greeting", greeting: true, reply: make(chan Reply, 1)}
		ws = append(ws, c.login.greeting)
	}
	for _, cl := range lines {
		w := &waiter{verb: cl.verb, show: cl.show, login: true, reply: make(chan Reply, 1)}
		c.login.ws = append(c.login.ws, w)
		ws = append(ws, w)
	}
	c.waiters = append(c.waiters, ws...)
	c.login.pending.Store(true)
	c.hold(lines, ws)
	return nil
}

// settleLogin reads and judges the replies of a login written ahead, once;
// later calls return the same verdict. A failed login closes the
// connection with its error. Every wait for a later command's reply
// settles the login first, so that no command succeeds on a connection
// whose login failed.
func (c *Conn) settleLogin(ctx context.Context) error {
	if !c.login.pending.Load() {
		return c.login.err
	}
	c.login.mu.Lock()
	defer c.login.mu.Unlock()
	if !c.login.pending.Load() {
		return c.login.err
	}
	err := c.judgeLogin(ctx)
	if err != nil {
		c.closeWith(err)
		if errors.Is(err, ErrPipelining) {
			// The wait that failed closed the connection first (ErrPeerDown,
			// ErrDesync, ErrConnLost): Err says the more, which wraps it.
			c.mu.Lock()
			c.closeErr = err
			if c.err != nil {
				c.err = err
			}
			c.mu.Unlock()
		}
	} else {
		c.login.worked.Store(true)
	}
	c.login.err = err
	c.login.pending.Store(false)
	return err
}

// judgeLogin reads the login's replies in order and judges them as the
// lockstep login does. A lost, garbled or cut-off answer after the
// greeting is ErrPipelining.
func (c *Conn) judgeLogin(ctx context.Context) error {
	if err := c.flushHeld(); err != nil {
		return err
	}
	greeted := c.login.greeting == nil
	noPass := false // USER was accepted alone: PASS's answer does not count
	suspect := func(err error) error {
		// Replies that stopped, came out of step or were cut off by the
		// server's close; not a reply too long, nor our own cancel.
		sign := errors.Is(err, ErrPeerDown) || errors.Is(err, ErrDesync) || errors.Is(err, ErrConnLost)
		if !greeted || !sign || ctx.Err() != nil {
			return err
		}
		c.login.lost.Store(true)
		return fmt.Errorf("%w: %w", ErrPipelining, err)
	}
	if g := c.login.greeting; g != nil {
		rep, err := c.await(ctx, g)
		if err != nil {
			return err
		}
		if rep.Code != 220 {
			return refused(rep.err("greeting"))
		}
		c.greet = rep.Msg
		greeted = true
	}
	ws := c.login.ws
	for i, w := range ws {
		rep, err := c.await(ctx, w)
		if err != nil {
			return suspect(err)
		}
		switch w.verb {
		case "USER":
			switch {
			case rep.Class() == 2:
				noPass = true
			case rep.Code != 331 && rep.Code != 332:
				return refused(rep.err(w.show))
			}
		case "PASS":
			if !noPass && rep.Class() != 2 {
				return refused(rep.err(w.show))
			}
		case "FEAT":
			c.feats = Features{}
			if rep.Code == 211 {
				c.feats = parseFeat(rep.Msg)
			}
		case "OPTS": // best effort: names are bytes to us anyway
		default: // PBSZ, PROT, TYPE
			if rep.Class() != 2 {
				err := rep.err(w.show)
				if noPass && i > 1 {
					// Lockstep would not have sent the PASS that this server
					// may have taken for a new login attempt.
					return suspect(err)
				}
				return err
			}
		}
	}
	return nil
}

// KnownFeatures returns the server's FEAT reply, parsed, if it is in
// without waiting: false while the replies of a login written ahead
// (Config.LazyLogin) are still to be read. A caller that would rather not
// spend a round trip on FEAT alone decides without it (SIZE and MDTM
// instead of MLST).
func (c *Conn) KnownFeatures() (Features, bool) {
	if c.login.pending.Load() {
		return nil, false
	}
	return c.feats, true
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
