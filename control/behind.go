package control

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Commands written behind a transfer.
//
// vsftpd and proftpd hold a download's final reply until the client has
// closed the data connection, and read no command while the transfer
// runs: a command written the moment the data ends reaches them with the
// close, and is answered right after the final reply. The check after
// the transfer (SIZE, MDTM), the next file's look and the EPSV for its
// transfer so come back with the 226, where in lockstep they would cost
// a round trip of their own after it. A server that answers commands as
// soon as they come (pyftpdlib, and pure-ftpd's 500 while a transfer
// runs) must not be sent them there: its answer could be taken for the
// transfer's final reply. Which kind a server is, a NOOP written at the
// data's end shows (ProbeBehind): Conn.Deferral, remembered by the policy
// above (Config.Deferral).

// Deferral is what a server does with a command written at the end of a
// download's data, before the final reply.
type Deferral int

const (
	DeferralUnknown Deferral = iota // not seen yet
	AnsweredAfter                   // answered after the final reply: commands may go there (StatBehind)
	AnsweredBefore                  // answered at once, before the final reply
)

func (d Deferral) String() string {
	return [...]string{"unknown", "answered after the final reply", "answered before the final reply"}[d]
}

// Deferral reports what this connection saw of commands written behind a
// transfer, or else what Config.Deferral said.
func (c *Conn) Deferral() Deferral { return Deferral(c.deferral.Load()) }

// deferralState holds a Deferral.
type deferralState = atomic.Int32

// ProbeBehind writes a NOOP at the end of a download's data, before its
// final reply, to learn where the server answers it (Conn.Deferral). Its
// answer is owed like a keepalive NOOP's (End reads it or resynchronises)
// but counts in no NoopsSent. It does nothing once the final reply came
// (the NOOP would show nothing) or the transfer ended.
func (t *Transfer) ProbeBehind() error {
	c := t.c
	c.mu.Lock()
	t.mu.Lock()
	ok := !t.ended && c.xfer == t
	if ok {
		t.noopsOut++
		t.probe = true // read by the reader with c.mu held
	}
	t.mu.Unlock()
	c.mu.Unlock()
	if !ok {
		return nil
	}
	return c.writeLine(fixedCmd("NOOP", ""))
}

// noteProbe records where a probe's answer came: during the transfer
// (before its final reply) or after it. Called by the reader with c.mu
// held, for a NOOP answer owed by t.
func (t *Transfer) noteProbe(before bool) {
	if !t.probe || t.probeSeen {
		return
	}
	t.probeSeen = true
	d := AnsweredAfter
	if before {
		d = AnsweredBefore
	}
	t.c.deferral.Store(int32(d))
	t.c.logf("a command written at the end of %s's data was %s", t.cmd, d)
}

// ErrBehindAnswered reports a reply to a command written behind a
// transfer that came before the transfer's final reply: the server does
// not wait (Conn.Deferral says so from then on). The connection is out
// of step and closed.
var ErrBehindAnswered = fmt.Errorf("%w: a command written behind a transfer was answered before its final reply", ErrDesync)

// PendingStat is a StatPassive written behind a transfer: its replies
// come after the transfer's final reply.
type PendingStat struct {
	c     *Conn
	paths []string
	epsv  bool
	ws    []*waiter
	cmds  []Command
	lines []cmdLine
	seq   uint64      // c.sends after the write: a later command forgets the EPSV's port
	retr  *behindRetr // the RETR written after the EPSV (StatRetrBehind), if any
}

// StatBehind writes StatPassive's commands (SIZE and MDTM of each path,
// EPSV last if passive and the connection uses it) behind the running
// transfer, at the end of its data, for a server whose Deferral is
// AnsweredAfter: they are answered after the final reply, and read with
// Wait once End has been called. If the final reply came already they
// are ordinary commands, answered in turn. An argument that cannot be
// sent is ErrInvalidArgument, and nothing is written.
func (t *Transfer) StatBehind(passive bool, paths ...string) (*PendingStat, error) {
	c := t.c
	cmds := statCmds(paths)
	epsv := passive && c.passiveAhead()
	if epsv {
		cmds = append(cmds, Command{Verb: "EPSV", Expect: 229})
	}
	lines, err := newCmds(cmds)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return nil, fmt.Errorf("%s: the transfer has ended", lines[0].show)
	}
	t.behind += len(lines)
	t.mu.Unlock()
	ws, err := c.sendAll(lines, false)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	seq := c.sends
	c.mu.Unlock()
	return &PendingStat{c: c, paths: paths, epsv: epsv, ws: ws, cmds: cmds, lines: lines, seq: seq}, nil
}

// Wait reads the replies, after the transfer's End: the facts of each
// path, in order; the EPSV's port is kept for the next transfer, as
// StatPassive keeps it, unless a command was written since. The error is
// for the connection only.
func (p *PendingStat) Wait(ctx context.Context) ([]FileStat, error) {
	c := p.c
	reps := make([]BatchReply, len(p.ws))
	for i, w := range p.ws {
		rep, err := c.await(ctx, w)
		if err != nil {
			return nil, err
		}
		reps[i].Reply = rep
		if !codeMatches(rep.Code, p.cmds[i].Expect) {
			reps[i].Err = rep.err(p.lines[i].show)
		}
	}
	if p.retr != nil {
		// The EPSV's port is the RETR's (readPort), read now so that the
		// data connection is opened the moment the RETR is taken over.
		if err := c.acquireRaw(ctx); err != nil {
			return nil, err
		}
		c.mu.Lock()
		mine := c.behindRetr == p.retr
		c.mu.Unlock()
		if mine {
			if err := c.readPort(ctx, p.retr); err != nil {
				c.release()
				return nil, err
			}
		}
		c.release()
	}
	if p.epsv {
		if err := c.acquire(ctx); err != nil {
			return nil, err
		}
		c.mu.Lock()
		fresh := c.sends == p.seq
		c.mu.Unlock()
		if fresh {
			c.keepPassive(reps[len(reps)-1])
		}
		c.release()
	}
	out := make([]FileStat, len(p.paths))
	for i := range out {
		out[i] = fileStat(reps[2*i : 2*i+2])
	}
	return out, nil
}

// statCmds are SIZE and MDTM of each path.
func statCmds(paths []string) []Command {
	cmds := make([]Command, 0, 2*len(paths)+1)
	for _, p := range paths {
		cmds = append(cmds, Command{Verb: "SIZE", Arg: p, Expect: 213}, Command{Verb: "MDTM", Arg: p, Expect: 213})
	}
	return cmds
}

// passiveAhead reports whether an EPSV may be written ahead of a
// transfer: not in active mode, nor where EPSV was refused before.
func (c *Conn) passiveAhead() bool {
	return !c.cfg.Active && !(c.noEPSV.Load() && !c.ipv6())
}

// behindAnswer reports whether rep, come before the final reply of a
// transfer whose data all arrived and that has commands written behind
// it, is to be taken for an answer to one of them: anything but the
// completion a download ends with (226, 225, 250). A failure reply is
// taken so too: the data is complete, and pure-ftpd answers commands
// during a transfer with 500; had the transfer failed, the next attempt,
// which writes nothing behind it, says so.
func behindAnswer(rep Reply) bool {
	return !rep.Preliminary() && rep.Code != 225 && rep.Code != 226 && rep.Code != 250
}
