package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// A RETR written behind a transfer.
//
// On a server that answers commands written at the end of a download's
// data after its final reply (AnsweredAfter), the next file's RETR can go
// in the same write as the check after the transfer and the EPSV for it
// (StatRetrBehind). The server answers SIZE, MDTM and 229, takes the RETR
// and waits for the data connection on the port it just opened; the
// client connects as soon as the 229 is in, and the 150 and the data
// follow at once, where otherwise the RETR would be written only then.
// Where a connection to the server costs nothing next to a command's
// round trip (a middlebox that terminates TCP near the client), that is
// half a round trip a file; over an end-to-end TCP handshake the server's
// accept waits as long as the RETR would have taken, and nothing changes.
//
// The RETR's reply is owed on the connection from then on. StartTransfer
// of the same RETR from offset 0 takes it over (adopt); anything else
// done with the connection first settles it (settleBehind): a refusal
// (425 after a refused EPSV, 550 for a file gone) is read and dropped; a
// RETR the server is waiting to serve is started and aborted. A
// connection that cannot be brought back in step that way (the port
// cannot be reached: the server is waiting for a connection that will
// never come) is closed. So no command's reply is ever taken for the
// RETR's or the other way round.

// behindRetr is a RETR written behind a transfer, not yet taken.
type behindRetr struct {
	t    *Transfer // its replies go to t from the first on (waiter.xfer)
	path string
	epsv *waiter // the EPSV written before it; nil once read
	// port is the EPSV's port; portErr, when the EPSV was refused or
	// garbled: the server has no port to wait on, and the RETR is refused.
	port    passivePort
	portErr error
}

// errNoBehind reports that a RETR written ahead was refused as a server
// without a data port refuses it (425): the transfer is to start anew.
var errNoBehind = errors.New("the RETR written ahead was refused")

// StatRetrBehind is StatBehind for a download followed by another on the
// same connection: SIZE and MDTM of each path, EPSV, then RETR of retr,
// all written at the end of t's data. It writes the RETR only where that
// is safe: a passive connection on which EPSV has worked, whose server
// answers commands written there after the final reply
// (AnsweredAfter), with nothing owed by t (NOOP answers, strays);
// otherwise it is StatBehind(true, paths...). The next
// StartTransfer("RETR", retr, 0) on the connection takes the RETR over;
// see behindRetr for everything else.
func (t *Transfer) StatRetrBehind(retr string, paths ...string) (*PendingStat, error) {
	c := t.c
	if retr == "" || c.Deferral() != AnsweredAfter || !c.passiveAhead() || !c.worked.epsv.Load() {
		return t.StatBehind(true, paths...)
	}
	rl, err := newCmd("RETR", retr)
	if err != nil {
		return nil, err
	}
	cmds := append(statCmds(paths), Command{Verb: "EPSV", Expect: 229})
	lines, err := newCmds(cmds)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	owed := c.behindRetr != nil
	c.mu.Unlock()
	t.mu.Lock()
	if owed || t.ended || t.noopsOut > 0 || t.strays > 0 || t.retrBehind {
		t.mu.Unlock()
		return t.StatBehind(true, paths...)
	}
	t.behind += len(lines) + 1
	t.retrBehind = true // no NOOP nor ABOR from here on: their answers would come after the RETR's
	t.mu.Unlock()
	b := &behindRetr{t: newTransfer(c, rl.show), path: retr}
	ws, seq, err := c.sendAllXfer(append(lines, rl), b)
	if err != nil {
		return nil, err
	}
	c.logf("%s written ahead, behind %s", rl.show, t.cmd)
	return &PendingStat{c: c, paths: paths, ws: ws[:len(lines)-1], cmds: cmds[:len(cmds)-1], lines: lines[:len(lines)-1], seq: seq, retr: b}, nil
}

// wroteRetr reports whether the RETR was written (StatRetrBehind).
func (p *PendingStat) wroteRetr() bool { return p.retr != nil }

// sendAllXfer is sendAll for commands of which the last is b's RETR, the
// one before it its EPSV: the RETR's waiter hands its first reply, and
// all after it, to b.t. It returns the waiters and c.sends after the
// write.
func (c *Conn) sendAllXfer(cls []cmdLine, b *behindRetr) ([]*waiter, uint64, error) {
	c.mu.Lock()
	if c.behindRetr != nil || c.err != nil {
		// Nothing written, but the transfer behind which it was to go
		// counts it: the connection cannot be trusted to be in step.
		c.mu.Unlock()
		c.closeWith(ErrClosed)
		return nil, 0, fmt.Errorf("%s: %w", b.t.cmd, ErrClosed)
	}
	c.ahead = nil
	c.sends++
	seq := c.sends
	now := time.Now()
	ws := make([]*waiter, len(cls))
	for i, cl := range cls {
		ws[i] = &waiter{verb: cl.verb, show: cl.show, sent: now, reply: make(chan Reply, 1)}
	}
	ws[len(ws)-1].xfer = b.t
	b.epsv = ws[len(ws)-2]
	c.behindRetr = b
	c.waiters = append(c.waiters, ws...)
	c.mu.Unlock()
	if err := c.writeLines(cls); err != nil {
		c.mu.Lock()
		c.waiters = nil
		c.behindRetr = nil
		c.mu.Unlock()
		return nil, 0, err
	}
	return ws, seq, nil
}

// takeBehind takes the RETR written ahead, if any.
func (c *Conn) takeBehind() *behindRetr {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.behindRetr
	c.behindRetr = nil
	return b
}

// owedRetr reports the path of a RETR written ahead and not yet taken, ""
// for none.
func (c *Conn) owedRetr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.behindRetr == nil {
		return ""
	}
	return c.behindRetr.path
}

// readPort reads the EPSV's reply if nobody has (PendingStat.Wait does),
// and learns from it as StatPassive does. Called with the command slot
// held.
func (c *Conn) readPort(ctx context.Context, b *behindRetr) error {
	if b.epsv == nil {
		return nil
	}
	w := b.epsv
	b.epsv = nil
	var rep Reply
	select {
	case rep = <-w.reply: // in already (PendingStat.Wait reads it as soon as it can)
	default:
		var err error
		if rep, err = c.await(ctx, w); err != nil {
			return err
		}
	}
	br := BatchReply{Reply: rep}
	if !codeMatches(rep.Code, 229) {
		br.Err = rep.err(w.show)
	}
	if br.Err != nil {
		if !c.ipv6() && IsPermanent(br.Err) {
			c.noEPSV.Store(true)
		}
		b.portErr = br.Err
		return nil
	}
	port, err := parseEPSV(rep.data())
	if err != nil {
		b.portErr = rep.hide(err)
		return nil
	}
	b.port = passivePort{port: port, host: c.host}
	return nil
}

// adopt starts the transfer b wrote: it connects to the EPSV's port and
// waits for the preliminary reply, as startTransfer does. A refusal is
// returned as a *ReplyError; errNoBehind (wrapping the refusal) when it is
// what a server with no data port for it answers (425), so that the
// caller starts the transfer anew. Called with the command slot held.
func (c *Conn) adopt(ctx context.Context, b *behindRetr) (*Transfer, error) {
	t := b.t
	if err := c.readPort(ctx, b); err != nil {
		return nil, err
	}
	if b.portErr != nil {
		// No port: the RETR is refused (vsftpd "425 Use PORT or PASV
		// first"). Its reply comes right behind the EPSV's.
		rep, err := c.awaitFinal(ctx, t)
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		t.ended = true
		t.mu.Unlock()
		c.logf("%s written ahead: EPSV failed (%v), RETR answered %d", t.cmd, b.portErr, rep.Code)
		return nil, fmt.Errorf("%w: %w", errNoBehind, rep.err(t.cmd))
	}
	if rep, ok := t.refused(); ok {
		return nil, refusedBehind(t, rep)
	}
	addr := net.JoinHostPort(b.port.host, strconv.Itoa(int(b.port.port)))
	data, err := c.cfg.dial(ctx, addr)
	if err != nil {
		if rep, ok := t.refused(); ok {
			return nil, refusedBehind(t, rep)
		}
		// The server waits for this connection, and the RETR's reply with
		// it: the connection is out of step.
		c.closeWith(ErrClosed)
		return nil, fmt.Errorf("%s (written ahead): data connection to %s: %w", t.cmd, addr, err)
	}
	t.Data = data
	t, err = c.awaitPrelim(ctx, t, nil, data, time.Now())
	if re, ok := asReplyError(err); ok && re.Code == 425 {
		// The server stopped waiting just as the connection came.
		err = fmt.Errorf("%w: %w", errNoBehind, err)
	}
	return t, err
}

// refusedBehind is the error for t's refusal, t a RETR written ahead.
func refusedBehind(t *Transfer, rep Reply) error {
	t.mu.Lock()
	t.ended = true
	t.mu.Unlock()
	if rep.Code == 425 {
		return fmt.Errorf("%w: %w", errNoBehind, rep.err(t.cmd))
	}
	return rep.err(t.cmd)
}

// refused returns the transfer's final reply if it came before any
// preliminary one: the command was refused.
func (t *Transfer) refused() (Reply, bool) {
	select {
	case rep := <-t.final:
		select {
		case p := <-t.prelim:
			t.prelim <- p
			t.final <- rep
			return Reply{}, false
		default:
		}
		return rep, true
	default:
		return Reply{}, false
	}
}

// awaitFinal waits for t's final reply (a refusal), within the timeout of
// now. A preliminary reply instead means the server is serving a
// transfer nobody can connect to: the connection is closed.
func (c *Conn) awaitFinal(ctx context.Context, t *Transfer) (Reply, error) {
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case rep := <-t.final:
		return rep, nil
	case rep := <-t.prelim:
		c.closeWith(ErrClosed)
		return Reply{}, desyncErr(rep, t.cmd+" written ahead with no data port")
	case <-t.gone:
		return Reply{}, fmt.Errorf("%s: %w", t.cmd, c.Err())
	case <-c.done:
		select {
		case rep := <-t.final:
			return rep, nil
		default:
		}
		return Reply{}, fmt.Errorf("%s: %w", t.cmd, c.Err())
	case <-ctx.Done():
		c.closeWith(ErrClosed)
		return Reply{}, fmt.Errorf("%s: %w", t.cmd, ctx.Err())
	case <-timer.C:
		c.closeWith(ErrPeerDown)
		return Reply{}, fmt.Errorf("%s: no reply within %v: %w", t.cmd, c.timeout, ErrPeerDown)
	}
}

// settleBehind ends a RETR written ahead that is not the next transfer,
// so that the connection is in step for what comes instead: a refusal is
// read, a transfer started is aborted. The error is for the connection
// only (closed). Called with the command slot held.
func (c *Conn) settleBehind(ctx context.Context, b *behindRetr) error {
	c.logf("%s, written ahead, is not the next transfer: ending it", b.t.cmd)
	t, err := c.adopt(ctx, b)
	if err != nil {
		if _, refused := asReplyError(err); refused && c.Err() == nil {
			return nil
		}
		return err
	}
	if err := t.abortLocked(ctx); err != nil {
		return err
	}
	return c.Err()
}
