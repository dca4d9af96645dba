package control

import (
	"context"
	"fmt"
	"time"
)

// Pipelining: several lockstep commands written together and their replies
// read in order, as net/textproto's Pipeline sequences requests. One round
// trip instead of one per command, which is what a far server costs. Only
// for commands that get exactly one reply and change no session state
// (SIZE, MDTM, MLST): a transfer command is never pipelined, and a reply
// is matched to its command by order alone. The one exception is the EPSV
// that StatPassive writes last: it changes only the data port, and the
// port it opens is kept for the next transfer.

// Command is one command of a Batch: a verb, an argument ("" for none) and
// the reply code it expects (as Cmd's expectCode; 0 takes any).
type Command struct {
	Verb   string
	Arg    string
	Expect int
}

// BatchReply is the answer to one command of a Batch. Err is a
// *ReplyError when the code is not the one the command expects.
type BatchReply struct {
	Reply
	Err error
}

// Batch writes cmds in one write and reads one reply for each, in order.
// The error is for the connection only (closed, peer down, ctx done), or
// ErrInvalidArgument for a command that cannot be sent, in which case
// nothing is written; a refused command shows in its BatchReply.
func (c *Conn) Batch(ctx context.Context, cmds ...Command) ([]BatchReply, error) {
	lines, err := newCmds(cmds)
	if err != nil {
		return nil, err
	}
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	return c.batchLocked(ctx, cmds, lines)
}

// newCmds builds every command's line, or refuses them all.
func newCmds(cmds []Command) ([]cmdLine, error) {
	lines := make([]cmdLine, len(cmds))
	for i, cmd := range cmds {
		cl, err := newCmd(cmd.Verb, cmd.Arg)
		if err != nil {
			return nil, err
		}
		lines[i] = cl
	}
	return lines, nil
}

// batchLocked is Batch with the command slot held.
func (c *Conn) batchLocked(ctx context.Context, cmds []Command, lines []cmdLine) ([]BatchReply, error) {
	if c.cfg.Lockstep {
		return c.batchLockstep(ctx, cmds, lines)
	}
	ws, err := c.sendAll(lines, false)
	if err != nil {
		return nil, err
	}
	out := make([]BatchReply, len(cmds))
	for i, cmd := range cmds {
		rep, err := c.await(ctx, ws[i])
		if err != nil {
			return out[:i], err
		}
		out[i].Reply = rep
		if !codeMatches(rep.Code, cmd.Expect) {
			out[i].Err = rep.err(lines[i].show)
		}
	}
	c.rtt.Store(int64(time.Since(ws[0].sent)))
	return out, nil
}

// batchLockstep is batchLocked one command at a time (Config.Lockstep).
func (c *Conn) batchLockstep(ctx context.Context, cmds []Command, lines []cmdLine) ([]BatchReply, error) {
	out := make([]BatchReply, len(cmds))
	for i, cmd := range cmds {
		w, err := c.send(lines[i], false)
		if err != nil {
			return out[:i], err
		}
		rep, err := c.await(ctx, w)
		if err != nil {
			return out[:i], err
		}
		c.rtt.Store(int64(time.Since(w.sent)))
		out[i].Reply = rep
		if !codeMatches(rep.Code, cmd.Expect) {
			out[i].Err = rep.err(lines[i].show)
		}
	}
	return out, nil
}

// writeLines writes command lines, and any held before them, with one
// flush, bounded by the timeout.
func (c *Conn) writeLines(lines []cmdLine) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	sent := time.Now() // before the flush: a reply may be read before it returns
	c.nc.SetWriteDeadline(sent.Add(c.timeout))
	for _, cl := range lines {
		c.logf("> %s", cl.show)
		c.w.WriteString(cl.line)
		c.w.WriteString("\r\n")
	}
	if err := c.w.Flush(); err != nil {
		what := "login"
		if len(lines) > 0 {
			what = lines[0].show
		}
		if cerr := c.Err(); cerr != nil {
			if _, ok := SessionRefused(cerr); ok {
				return cerr // refused at the greeting: what was written does not matter
			}
			return fmt.Errorf("%s: %w", what, cerr)
		}
		c.closeWith(nil)
		return fmt.Errorf("%s: %w: %v", what, ErrConnLost, err)
	}
	for _, w := range c.held {
		w.sent = sent
	}
	c.held = nil
	c.noteSent(sent)
	return nil
}

// hold puts lines in the write buffer without writing them: they go with
// the next write. ws are the waiters of their replies (and of a greeting
// still to come), whose clocks start then.
func (c *Conn) hold(lines []cmdLine, ws []*waiter) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, cl := range lines {
		c.logf("> %s", cl.show)
		c.w.WriteString(cl.line)
		c.w.WriteString("\r\n")
	}
	c.held = append(c.held, ws...)
}

// flushHeld writes the held lines, if any are still waiting.
func (c *Conn) flushHeld() error {
	c.wmu.Lock()
	n := len(c.held)
	c.wmu.Unlock()
	if n == 0 {
		return nil
	}
	return c.writeLines(nil)
}

// FileStat is what SIZE and MDTM said about one file. A fact the server
// refused or garbled has its error set and its zero value.
type FileStat struct {
	Size       int64
	SizeErr    error
	ModTime    time.Time
	ModTimeErr error
}

// Stat asks SIZE and MDTM of path together: one round trip. The error is
// for the connection only.
func (c *Conn) Stat(ctx context.Context, path string) (FileStat, error) {
	reps, err := c.Batch(ctx, Command{Verb: "SIZE", Arg: path, Expect: 213}, Command{Verb: "MDTM", Arg: path, Expect: 213})
	if err != nil {
		return FileStat{}, err
	}
	return fileStat(reps), nil
}

// StatPassive is Stat for files about to be transferred: SIZE and MDTM of
// each path, in order, then EPSV, all in one round trip. The passive port
// the server opens is the one the next StartTransfer uses, if no other
// command is written first (any other command forgets it). The port is
// only a listener on the server: if the transfer does not follow (the file
// changed or vanished), nothing waits on it, and the next EPSV or PASV
// replaces it. Where EPSV is not written alone either (active mode, EPSV
// refused before) no EPSV is written; a refused or garbled EPSV here is
// left to StartTransfer, which asks again and falls back to PASV as it
// always does. The error is for the connection only.
func (c *Conn) StatPassive(ctx context.Context, paths ...string) ([]FileStat, error) {
	cmds := statCmds(paths)
	epsv := c.passiveAhead()
	if epsv {
		cmds = append(cmds, Command{Verb: "EPSV", Expect: 229})
	}
	lines, err := newCmds(cmds)
	if err != nil {
		return nil, err
	}
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	reps, err := c.batchLocked(ctx, cmds, lines)
	if err != nil {
		return nil, err
	}
	if epsv {
		c.keepPassive(reps[len(reps)-1])
	}
	out := make([]FileStat, len(paths))
	for i := range out {
		out[i] = fileStat(reps[2*i : 2*i+2])
	}
	return out, nil
}

func fileStat(reps []BatchReply) FileStat {
	var st FileStat
	if st.SizeErr = reps[0].Err; st.SizeErr == nil {
		st.Size, st.SizeErr = parseSize(reps[0].data())
		st.SizeErr = reps[0].hide(st.SizeErr)
	}
	if st.ModTimeErr = reps[1].Err; st.ModTimeErr == nil {
		st.ModTime, st.ModTimeErr = ParseTime(reps[1].data())
		st.ModTimeErr = reps[1].hide(st.ModTimeErr)
	}
	return st
}
