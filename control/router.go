package control

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// The reply router: one goroutine per connection reads every reply and
// hands it, without ever blocking, to the running transfer, to the
// lockstep command waiting for it, or to the late replies a finished
// transfer still owes. A reply that belongs to none of them ends the
// connection (ErrDesync).

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
	var bt *Transfer // a RETR written ahead, whose replies will not come either
	if b := c.behindRetr; b != nil && b.t != t {
		bt = b.t
	}
	c.mu.Unlock()
	c.nc.Close()
	close(c.done)
	if t != nil {
		t.lost()
	}
	if bt != nil {
		bt.lost()
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
	xfer     *Transfer  // a transfer command written ahead (StatRetrBehind): its first reply, and all after it, go to xfer
	stale    []Reply    // guarded by Conn.mu until the reply is delivered
	reply    chan Reply // capacity 1: the reader never waits
}

// route hands a reply to whoever it belongs to, without ever blocking. An
// error means the reply belongs to no one: the connection is out of step
// and ends.
func (c *Conn) route(rep Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) > 0 && c.xfer == nil && c.waiters[0].xfer != nil {
		// A transfer command written ahead gets its first reply: from
		// here on the replies are the transfer's.
		c.xfer = c.waiters[0].xfer
		c.waiters[0] = nil
		c.waiters = c.waiters[1:]
		c.finalRep = nil
	}
	if t := c.xfer; t != nil {
		final, err := t.route(rep)
		if final {
			c.xfer = nil // the final reply ends transfer routing
			c.late = t.owed()
			if t.probe && !t.probeSeen {
				c.lateProbe = t
			}
			t.mu.Lock()
			started := t.sawPrelim
			t.mu.Unlock()
			if started {
				// Only a transfer's completion is repeated by some servers; a
				// refusal's text (550 for a file gone) is what the next
				// command may well be answered with too.
				c.finalRep = &rep
			}
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
		if w.greeting && rep.Code != 220 && c.closing == nil {
			// Refused at the greeting (421 "too many connections"): the
			// server closes next. With the login written ahead, the reader
			// may take the close before the login is written, or before
			// settleLogin reads this reply, on a loaded machine: the write
			// then fails, or Err is asked first. The session was refused,
			// not lost, and Err says so from now on (the pool tells the
			// server's connection limit from a lost connection by it).
			c.closing = refused(rep.err("greeting"))
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
