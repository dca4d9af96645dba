package control

import (
	"context"
	"fmt"
	"time"
)

// The command path: a waiter is registered for the reply, the command line
// is written, and the reply is awaited within the timeout of the write.
// Commands hold the command slot (acquire, release) while they run.

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

// acquire takes the command slot for a command of any kind but a
// transfer that may take over a RETR written ahead: such a RETR is
// settled first (settleBehind).
func (c *Conn) acquire(ctx context.Context) error {
	if err := c.acquireRaw(ctx); err != nil {
		return err
	}
	if b := c.takeBehind(); b != nil {
		if err := c.settleBehind(ctx, b); err != nil {
			c.release()
			return err
		}
	}
	return nil
}

// acquireRaw takes the command slot, leaving a RETR written ahead as it
// is.
func (c *Conn) acquireRaw(ctx context.Context) error {
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
