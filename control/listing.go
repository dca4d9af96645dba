package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Reading directory listings: List runs MLSD or LIST over a data
// connection, bounded in size and time; the lines are parsed by the pure
// functions in listparse.go.

// MaxListing bounds the size of a listing List accepts, in bytes.
const MaxListing = 64 << 20

// listingLimit is MaxListing, lowered by tests.
var listingLimit = MaxListing

// List returns the entries of dir ("" for the current directory), without
// "." and "..". It uses MLSD when the server announced MLST in FEAT, and
// LIST otherwise, or when MLSD is refused as a command (500, 502 or 504;
// other refusals, like 550 for a missing directory or 501 for a file, are
// returned as they are, since LIST would only blur them); after such a
// refusal, or with Config.NoMLSD, the connection lists with LIST. A line
// that cannot be parsed makes List return an error wrapping ErrBadListing
// that names the line, together with the entries of the lines it could
// parse (a mirror copies those and reports the rest). Listings larger than
// MaxListing are refused.
//
// The data connection must not stall for the timeout, and the final reply
// must come within the timeout after the data ended; if either fails, the
// connection is closed.
func (c *Conn) List(ctx context.Context, dir string) ([]Entry, error) {
	if (c.feats.Has("MLST") || c.feats.Has("MLSD")) && !c.noMLSD.Load() {
		entries, err := c.list(ctx, "MLSD", dir)
		if err == nil || errors.Is(err, ErrBadListing) { // the command itself was accepted
			c.worked.mlsd.Store(true)
		}
		if err == nil || !mlsdRefused(err, withArg("MLSD", dir)) {
			return entries, err
		}
		c.noMLSD.Store(true)
		c.logf("%v; falling back to LIST", err)
	}
	return c.list(ctx, "LIST", dir)
}

// ListHidden is List for a caller that must see every name, those that
// start with a dot included: LIST hides them on some servers (vsftpd, ls
// -l style) unless asked with "LIST -a". MLSD lists every name; where the
// connection lists with LIST, ListHidden sends "LIST -a dir", and plain
// LIST where that is refused (5xx: a server that takes "-a" for a name).
// all reports whether the listing shows the names with a dot: MLSD, or
// LIST -a accepted.
func (c *Conn) ListHidden(ctx context.Context, dir string) (entries []Entry, all bool, err error) {
	if (c.feats.Has("MLST") || c.feats.Has("MLSD")) && !c.noMLSD.Load() {
		entries, err := c.List(ctx, dir) // MLSD, or LIST if MLSD is refused
		if !c.noMLSD.Load() {
			return entries, true, err
		}
	}
	arg := "-a"
	if dir != "" {
		arg += " " + dir
	}
	entries, err = c.list(ctx, "LIST", arg)
	if err == nil || errors.Is(err, ErrBadListing) || !IsPermanent(err) {
		return entries, err == nil || errors.Is(err, ErrBadListing), err
	}
	c.logf("%v; listing with LIST (names starting with a dot may be left out)", err)
	entries, err = c.list(ctx, "LIST", dir)
	return entries, false, err
}

func withArg(verb, arg string) string {
	if arg == "" {
		return verb
	}
	return verb + " " + arg
}

// mlsdRefused reports a refusal of the MLSD command itself.
func mlsdRefused(err error, cmd string) bool {
	re, ok := asReplyError(err)
	if !ok || re.Cmd != cmd {
		return false
	}
	return re.Code == 500 || re.Code == 502 || re.Code == 504
}

// abortGrace bounds the wait for the replies to ABOR when the caller
// cancelled a listing: Ctrl-C must end keepftp promptly.
const abortGrace = time.Second

// list runs one MLSD or LIST and parses its lines.
func (c *Conn) list(ctx context.Context, verb, dir string) ([]Entry, error) {
	cmd := withArg(verb, dir)
	t, err := c.StartTransfer(ctx, verb, dir, 0)
	if err != nil {
		return nil, err
	}
	data, err := c.readListing(ctx, t)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		// The caller gave up (Ctrl-C): ABOR's reply gets a short grace,
		// as a stalling server may never send it.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortGrace)
		t.Abort(actx)
		cancel()
		return nil, fmt.Errorf("%s: %w", cmd, ctx.Err())
	case errors.Is(err, errTooLarge):
		t.Abort(ctx) // on purpose: the connection stays usable if the server answers
		return nil, fmt.Errorf("%s: %w: more than %d bytes", cmd, ErrBadListing, listingLimit)
	default:
		select {
		case rep := <-t.Final(): // a 426 or 451 explains the broken data connection
			t.End(ctx, true)
			if !rep.OK() {
				return nil, rep.err(cmd)
			}
		default: // stalled or broken without a word: the connection cannot be trusted
			t.End(ctx, false)
		}
		return nil, fmt.Errorf("%s: reading the listing: %w", cmd, err)
	}
	// The server learns that the data ended from the close (proftpd holds
	// its 226 until then).
	t.Data.Close()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case rep := <-t.Final():
		if _, err := t.End(ctx, true); err != nil {
			return nil, err
		}
		if !rep.OK() {
			return nil, rep.err(cmd)
		}
	case <-t.Lost():
		t.End(ctx, false)
		return nil, fmt.Errorf("%s: no final reply: %w", cmd, c.Err())
	case <-timer.C:
		t.End(ctx, false)
		return nil, fmt.Errorf("%s: no final reply within %v of the data's end: %w", cmd, c.timeout, ErrPeerDown)
	case <-ctx.Done():
		t.End(ctx, false)
		return nil, fmt.Errorf("%s: %w", cmd, ctx.Err())
	}
	return parseListing(cmd, verb == "MLSD", data, time.Now())
}

var errTooLarge = errors.New("listing too large")

// readListing reads the data connection to its end, at most listingLimit
// bytes; each read must come within the timeout.
func (c *Conn) readListing(ctx context.Context, t *Transfer) ([]byte, error) {
	stop := context.AfterFunc(ctx, func() { t.Data.Close() })
	defer stop()
	var data []byte
	buf := make([]byte, 32<<10)
	for {
		// An error here (net.Pipe's when the peer closed) leaves the
		// Read to report the connection's state.
		t.Data.SetReadDeadline(time.Now().Add(c.timeout))
		n, err := t.Data.Read(buf)
		if len(data)+n > listingLimit {
			return nil, errTooLarge
		}
		data = append(data, buf[:n]...)
		switch {
		case err == io.EOF:
			return data, nil
		case isTimeout(err):
			return nil, fmt.Errorf("data stalled: no bytes for %v: %w", c.timeout, ErrPeerDown)
		case err != nil:
			return nil, err
		}
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
