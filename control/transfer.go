package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// Transfer is a running transfer command (RETR, STOR, APPE, LIST, MLSD) and
// its data connection. While it runs, the reader goroutine routes replies to
// it: see route for the rules. The transfer holds the connection's command
// slot until End or Abort.
type Transfer struct {
	c      *Conn
	cmd    string
	Data   net.Conn // *net.TCPConn on plain connections (splice-able); under TLS a connection with ConnectionState() whose Close ends an upload cleanly
	Prelim Reply    // the 1xx that started the transfer

	prelim chan Reply    // first 1xx, capacity 1
	final  chan Reply    // the reply that ends the transfer, capacity 1
	noops  chan Reply    // replies taken as NOOP answers, best effort
	gone   chan struct{} // closed if the control connection ends first

	mu        sync.Mutex // guards the fields below; route takes it with c.mu held
	noopsOut  int        // NOOPs (and an ABOR) written and not yet answered
	noopsSent int
	strays    int // replies that belonged to nothing: End resynchronises
	sawPrelim bool
	ended     bool
	behind    int  // commands written behind the transfer (StatBehind): due after its final reply
	aborting  bool // ABOR was written
	probe     bool // a ProbeBehind NOOP was written (guarded by c.mu)
	probeSeen bool // and its answer was routed (guarded by c.mu)
	// retrBehind: the next RETR was written behind this transfer
	// (StatRetrBehind). No NOOP or ABOR may follow: their answers would
	// come after that RETR's.
	retrBehind bool
	goneOnce   sync.Once
}

// newTransfer is a transfer of cmd on c, not started yet.
func newTransfer(c *Conn, cmd string) *Transfer {
	return &Transfer{
		c:      c,
		cmd:    cmd,
		prelim: make(chan Reply, 1),
		final:  make(chan Reply, 1),
		noops:  make(chan Reply, 16),
		gone:   make(chan struct{}),
	}
}

// route classifies a reply that arrived during the transfer and reports
// whether it ended it. Called by the reader with c.mu held; it never
// blocks.
//
//   - 1xx: the first is the preliminary reply; a later one is final (pure-ftpd
//     reports a failed download with a final "150 ..." line).
//   - 200: a NOOP's answer, never the transfer's: 200 cannot complete a RETR.
//     A 200 with no NOOP outstanding is stray: dropped, and End
//     resynchronises.
//   - 202, 500, 501, 502 while NOOPs are outstanding: a NOOP's answer (pure-ftpd
//     answers NOOP mid-transfer with "500 Unknown command").
//   - Another 2xx or a 3xx before the preliminary reply cannot be this
//     command's (RFC 959: a transfer command gets a 1xx first, or a
//     refusal): the connection is out of step (ErrDesync).
//   - Anything else is the transfer's final reply.
func (t *Transfer) route(rep Reply) (final bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case rep.Preliminary() && !t.sawPrelim:
		t.sawPrelim = true
		t.prelim <- rep
		return false, nil
	case t.behind > 0 && t.sawPrelim && !(t.noopsOut > 0 && isNoopAnswer(rep.Code)) && behindAnswer(rep):
		t.c.deferral.Store(int32(AnsweredBefore))
		return false, fmt.Errorf("%w: %d %s during %s", ErrBehindAnswered, rep.Code, clip(firstLine(rep.Msg)), t.cmd)
	case rep.Code == 200 || t.noopsOut > 0 && isNoopAnswer(rep.Code):
		if t.noopsOut > 0 {
			// No NOOP is owed when the probe's is written (ProbeBehind's
			// caller sees to that): the first answer after it is its.
			probe := t.probe && !t.probeSeen
			t.noteProbe(true)
			t.noopsOut--
			if !probe { // keepalive NOOPs' answers are the NOOP policy's evidence; the probe's is not
				select {
				case t.noops <- rep:
				default: // nobody is listening closely; the count is what matters
				}
			}
		} else {
			t.strays++
			t.c.logf("stray reply during %s dropped: %d %s", t.cmd, rep.Code, rep.Msg)
		}
		return false, nil
	case !t.sawPrelim && rep.Code < 400:
		return false, desyncErr(rep, t.cmd+" before its preliminary reply")
	}
	t.final <- rep
	return true, nil
}

// owed is how many replies are still due after the final one: answers to
// NOOPs and ABOR. Called with c.mu held.
func (t *Transfer) owed() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.noopsOut
}

// oweOne counts a command written during the transfer whose answer is due
// outside its final reply (NOOP, ABOR), before it is written. Once the
// final reply was routed, its answer is a late one, which the connection
// must expect too. It reports false when the transfer has ended.
func (t *Transfer) oweOne(noop bool) bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended || t.retrBehind {
		return false
	}
	t.noopsOut++
	if noop {
		t.noopsSent++
	}
	if c.xfer != t {
		c.late++
	}
	return true
}

func isNoopAnswer(code int) bool {
	return code == 200 || code == 202 || code == 500 || code == 501 || code == 502
}

// lost is called when the control connection ended during the transfer.
func (t *Transfer) lost() { t.goneOnce.Do(func() { close(t.gone) }) }

// StartTransfer opens a data connection, sends "REST offset" when offset is
// positive, then the command verb with its argument arg ("" for none), and
// waits for the preliminary reply. A reply that refuses the command is
// returned as a *ReplyError; an argument holding CR, LF or NUL is refused
// with ErrInvalidArgument before anything is written. A RETR of arg from
// offset 0 that was written ahead (StatRetrBehind) is taken over: only
// its data connection is opened; another transfer settles it first.
func (c *Conn) StartTransfer(ctx context.Context, verb, arg string, offset int64) (*Transfer, error) {
	cl, err := newCmd(verb, arg)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("%w: negative offset %d", ErrInvalidArgument, offset)
	}
	if err := c.acquireRaw(ctx); err != nil {
		return nil, err
	}
	// Replies are routed to a running transfer first: the login's must
	// all be in before one starts.
	if err := c.settleLogin(ctx); err != nil {
		c.release()
		return nil, fmt.Errorf("%s: %w", cl.show, err)
	}
	if b := c.takeBehind(); b != nil {
		if verb == "RETR" && b.path == arg && offset == 0 && !c.cfg.Active {
			t, err := c.adopt(ctx, b)
			if err == nil {
				return t, nil
			}
			if !errors.Is(err, errNoBehind) || c.Err() != nil {
				c.release()
				return nil, err
			}
			c.logf("%v: starting it anew", err)
		} else if err := c.settleBehind(ctx, b); err != nil {
			c.release()
			return nil, err
		}
	}
	t, err := c.startTransfer(ctx, cl, offset)
	if err != nil {
		c.release()
		return nil, err
	}
	return t, nil
}

// startTransfer is StartTransfer's work. A data connection's TLS
// handshake starts after the 150, not with the transfer command: a loaded
// pyftpdlib drops a data connection whose ClientHello came first, and
// sends no reply for that transfer (docs/servers.md).
func (c *Conn) startTransfer(ctx context.Context, cl cmdLine, offset int64) (*Transfer, error) {
	cmd := cl.show
	var data net.Conn
	var active *activeData
	var err error
	if c.cfg.Active {
		active, err = c.openActive(ctx)
	} else {
		data, err = c.openData(ctx)
	}
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Transfer, error) {
		if active != nil {
			active.close()
		}
		if data != nil {
			data.Close()
		}
		return nil, err
	}
	if offset > 0 {
		if _, err := c.cmdLocked(ctx, 350, fixedCmd("REST", strconv.FormatInt(offset, 10))); err != nil {
			if _, refused := asReplyError(err); refused {
				err = fmt.Errorf("%w: %w", ErrRestRefused, err)
			}
			return fail(err)
		}
	}
	t := newTransfer(c, cmd)
	t.Data = data
	c.mu.Lock()
	if c.err != nil || c.xfer != nil {
		c.mu.Unlock()
		return fail(fmt.Errorf("%s: %w", cmd, ErrClosed))
	}
	c.xfer = t
	c.mu.Unlock()
	sent := time.Now()
	if err := c.writeLine(cl); err != nil {
		return fail(err)
	}
	return c.awaitPrelim(ctx, t, active, data, sent)
}

// awaitPrelim waits for the preliminary reply of t, written at sent,
// then accepts its active data connection or secures data. On failure
// the data connection is closed.
func (c *Conn) awaitPrelim(ctx context.Context, t *Transfer, active *activeData, data net.Conn, sent time.Time) (*Transfer, error) {
	cmd := t.cmd
	ok := false
	defer func() {
		if active != nil {
			active.close()
		}
		if !ok && data != nil {
			data.Close()
		}
	}()
	var err error
	// The preliminary reply, like a lockstep command's, must be complete
	// within the timeout.
	timer := time.NewTimer(time.Until(c.replyDeadline(sent)))
	defer timer.Stop()
	for {
		select {
		case rep := <-t.prelim:
			t.Prelim = rep
			if active != nil {
				if data, err = active.accept(ctx, t); err != nil {
					return nil, err
				}
				t.Data = data
			}
			if c.cfg.TLSMode != TLSNone {
				// Bounded like every wait: a data peer that accepts but never
				// speaks TLS must not hold us (secureData's timeout).
				tc, err := c.secureData(ctx, data, cmd)
				if err != nil {
					c.closeWith(ErrClosed) // the server now waits on a data connection we abandon
					return nil, fmt.Errorf("%s: data connection: %w", cmd, err)
				}
				t.Data = tc
			}
			ok = true
			return t, nil
		case rep := <-t.final:
			select {
			case p := <-t.prelim:
				// Both were queued before this select ran, and select picks
				// at random: the preliminary reply came first (a small
				// transfer can be over by now). Put the final one back.
				t.final <- rep
				t.prelim <- p
				continue
			default:
			}
			t.mu.Lock()
			t.ended = true
			t.mu.Unlock()
			return nil, rep.err(cmd)
		case <-t.gone:
			select {
			case p := <-t.prelim:
				// The 150 came before the connection ended, and select
				// picked the end at random: the transfer did start, and
				// its data must still be read (Lost tells the rest).
				t.prelim <- p
				continue
			default:
			}
			return nil, fmt.Errorf("%s: %w", cmd, c.Err())
		case <-c.done:
			// The connection ended; t.gone tells it too once the reader
			// routes to t (a RETR written ahead may not be yet).
			select {
			case p := <-t.prelim:
				t.prelim <- p
				continue
			case rep := <-t.final:
				t.final <- rep
				continue
			default:
			}
			return nil, fmt.Errorf("%s: %w", cmd, c.Err())
		case <-ctx.Done():
			c.closeWith(ErrClosed)
			return nil, fmt.Errorf("%s: %w", cmd, ctx.Err())
		case <-timer.C:
			c.closeWith(ErrPeerDown)
			return nil, fmt.Errorf("%s: no preliminary reply within %v: %w", cmd, c.timeout, ErrPeerDown)
		}
	}
}

// Noop writes NOOP without waiting for its answer: the answer may come at
// once, after the final reply, as a 5xx, or never. It is safe to call
// concurrently with the transfer.
func (t *Transfer) Noop() error {
	if !t.oweOne(true) {
		return nil
	}
	return t.c.writeLine(fixedCmd("NOOP", ""))
}

// NoopsSent is how many NOOPs were written during the transfer.
func (t *Transfer) NoopsSent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.noopsSent
}

// NoopAnswers delivers the replies taken as answers to NOOPs during the
// transfer (for the keepalive policy to learn from). Best effort: answers
// that nobody reads in time are only counted.
func (t *Transfer) NoopAnswers() <-chan Reply { return t.noops }

// Final delivers the reply that ends the transfer, once.
func (t *Transfer) Final() <-chan Reply { return t.final }

// Lost is closed if the control connection ends before the final reply;
// Conn.Err says why.
func (t *Transfer) Lost() <-chan struct{} { return t.gone }

// Conn is the control connection the transfer runs on.
func (t *Transfer) Conn() *Conn { return t.c }

// Cmd is the transfer command, e.g. "RETR /file".
func (t *Transfer) Cmd() string { return t.cmd }

// End releases the connection after the final reply was taken from Final.
// If NOOPs are still unanswered it resynchronises (Resync) so that their
// late answers cannot be taken for the next command's, and returns the
// replies it discarded. If the final reply was never received, the
// connection cannot be trusted and is closed.
func (t *Transfer) End(ctx context.Context, gotFinal bool) ([]Reply, error) {
	defer t.c.release()
	return t.endLocked(ctx, gotFinal)
}

// endLocked is End with the command slot kept.
func (t *Transfer) endLocked(ctx context.Context, gotFinal bool) ([]Reply, error) {
	t.Data.Close()
	t.mu.Lock()
	t.ended = true
	out := t.noopsOut + t.strays
	// Owed only the answer to ProbeBehind's NOOP (no keepalive NOOP, no
	// ABOR, nothing stray): it comes right behind the final reply.
	probeOnly := out == 1 && t.noopsSent == 0 && !t.aborting && t.strays == 0
	retrBehind := t.retrBehind
	t.mu.Unlock()
	if out > 0 && retrBehind {
		// A resync's PWD would be answered after the RETR written behind:
		// a stray reply leaves no way back into step.
		gotFinal = false
	}
	if !gotFinal {
		t.c.mu.Lock()
		if t.c.xfer == t {
			t.c.xfer = nil
		}
		t.c.mu.Unlock()
		t.c.closeWith(ErrClosed)
		return nil, nil
	}
	if out == 0 {
		return nil, nil
	}
	if probeOnly {
		if stale, ok := t.c.probeAnswerQueued(t); ok {
			return stale, nil
		}
	}
	return t.c.resyncLocked(ctx)
}

// probeAnswerQueued spares a resynchronisation when the one answer still
// owed after t's final reply is its ProbeBehind NOOP's: that answer is
// queued as a waiter's, ahead of the next command's, so that it cannot be
// taken for that command's reply (and, not being awaited, costs no round
// trip). A server that lost it would answer the next command in its
// place: out of step for that command's verb, the connection ends
// (ErrDesync). It reports false when something else is owed. Called with
// the command slot held.
func (c *Conn) probeAnswerQueued(t *Transfer) ([]Reply, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.late == 0: // it came
		stale := c.lateSeen
		c.lateSeen = nil
		return stale, true
	case c.late == 1 && c.lateProbe == t:
		c.late = 0
		c.waiters = append(c.waiters, &waiter{verb: "NOOP", show: "NOOP (written at the data's end)", probe: true, sent: time.Now(), reply: make(chan Reply, 1)})
		stale := c.lateSeen
		c.lateSeen = nil
		return stale, true
	}
	return nil, false
}

// Abort stops the transfer on purpose: it closes the data connection (the
// only way vsftpd and proftpd reliably stop a download), sends ABOR, and
// waits a short while for the replies. The connection stays usable if they
// came, and is closed otherwise.
func (t *Transfer) Abort(ctx context.Context) error {
	abortData(t.Data)
	t.mu.Lock()
	ended := t.ended
	t.mu.Unlock()
	if ended {
		return nil
	}
	defer t.c.release()
	return t.abortLocked(ctx)
}

// abortLocked is Abort with the command slot kept.
func (t *Transfer) abortLocked(ctx context.Context) error {
	abortData(t.Data)
	ctx, cancel := context.WithTimeout(ctx, min(t.c.timeout, 5*time.Second))
	defer cancel()
	gotFinal := false
	t.mu.Lock()
	retrBehind := t.retrBehind
	t.mu.Unlock()
	if retrBehind {
		// ABOR's answer would come after the RETR written behind: the
		// connection cannot be kept.
		_, err := t.endLocked(ctx, false)
		return err
	}
	// ABOR itself is answered (226 or 225), after the transfer's 426: the
	// answer is owed like a NOOP's, and End's resync swallows it.
	if !t.oweOne(false) {
		return nil // already ended
	}
	t.mu.Lock()
	t.aborting = true
	t.mu.Unlock()
	if err := t.c.writeLine(fixedCmd("ABOR", "")); err == nil {
		select {
		case <-t.final:
			gotFinal = true
		case <-t.gone:
		case <-ctx.Done():
		}
	}
	if !gotFinal {
		_, err := t.endLocked(ctx, false)
		return err
	}
	_, err := t.endLocked(ctx, true)
	if err != nil {
		t.c.closeWith(ErrClosed)
	}
	return err
}

// Resync makes sure the next reply read belongs to the next command: it
// sends PWD and discards every reply before PWD's 257, within the timeout.
// The discarded replies are returned (late NOOP answers, typically).
func (c *Conn) Resync(ctx context.Context) ([]Reply, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	return c.resyncLocked(ctx)
}

// maxDiscard bounds how many stale replies a resync may swallow.
const maxDiscard = 1000

func (c *Conn) resyncLocked(ctx context.Context) ([]Reply, error) {
	w, err := c.send(fixedCmd("PWD", ""), true)
	if err != nil {
		return nil, err
	}
	w.show = "PWD (resync)"
	rep, err := c.await(ctx, w)
	c.mu.Lock()
	stale := w.stale
	c.mu.Unlock()
	if err != nil {
		return stale, err
	}
	if rep.Code == 421 {
		c.closeWith(nil)
		return stale, rep.err(w.show)
	}
	return stale, nil
}
