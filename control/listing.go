package control

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Reading directory listings: List runs MLSD or LIST over a data
// connection, bounded in size and time; the lines are parsed by the pure
// functions in listparse.go and its dialects' files (listparse_mlsd.go,
// listparse_ls.go, listparse_dos.go).

// MaxListing bounds the size of a listing List accepts, in bytes.
const MaxListing = 64 << 20

// listingLimit is MaxListing, lowered by tests.
var listingLimit = MaxListing

// List returns the entries of dir ("" for the current directory), without
// "." and "..". It uses MLSD when the server announced MLST in FEAT, and
// LIST otherwise, or when MLSD is refused as a command (500, 502 or 504;
// other refusals, like 550 for a missing directory or 501 for a file, are
// returned as they are, since LIST would only blur them); after such a
// refusal, the connection lists with LIST. A line that cannot be parsed
// makes List return an error wrapping ErrBadListing that names the line,
// together with the entries of the lines it could parse (a mirror copies
// those and reports the rest). Listings larger than MaxListing are
// refused.
//
// The data connection must not stall for the timeout, and the final reply
// must come within the timeout after the data ended; if either fails, the
// connection is closed.
func (c *Conn) List(ctx context.Context, dir string) ([]Entry, error) {
	var l listing
	if err := c.ListFunc(ctx, dir, l.add); err != nil {
		return nil, err
	}
	return l.result()
}

// ListFunc is List as a stream: fn is called for each entry as its line
// arrives, in the server's order, so that a listing of any length takes
// bounded memory. For a line that cannot be parsed, fn is called with a
// zero Entry and an error wrapping ErrBadListing that names the line. An
// error fn returns stops the listing (the transfer is aborted) and is
// what ListFunc returns. ListFunc returns nil when the listing arrived
// whole and the server confirmed it, whatever fn was told of bad lines;
// fn may have been called for entries of a listing that then fails.
func (c *Conn) ListFunc(ctx context.Context, dir string, fn func(e Entry, err error) error) error {
	masked := func(e Entry, err error) error { return fn(e, c.sec.maskErr(err)) } // a bad line is quoted: the server's text
	return c.sec.maskErr(c.listAny(ctx, dir, masked))
}

func (c *Conn) listAny(ctx context.Context, dir string, fn func(Entry, error) error) error {
	// A lazy login still being answered is waited for under ctx here:
	// Features waits without one (bounded only by the timeout).
	if err := c.settleLogin(ctx); err != nil {
		return err
	}
	if feats := c.Features(); (feats.Has("MLST") || feats.Has("MLSD")) && !c.noMLSD.Load() {
		called := false
		err := c.list(ctx, "MLSD", dir, func(e Entry, err error) error {
			called = true
			return fn(e, err)
		})
		if err == nil || called || errors.Is(err, ErrBadListing) { // the command itself was accepted
			c.worked.mlsd.Store(true)
		}
		if err == nil || called || !mlsdRefused(err, withArg("MLSD", dir)) {
			return err
		}
		c.noMLSD.Store(true)
		c.logf("%v; falling back to LIST", err)
	}
	return c.list(ctx, "LIST", dir, fn)
}

// ListHidden is List for a caller that must see every name, those that
// start with a dot included: LIST hides them on some servers (vsftpd, ls
// -l style) unless asked with "LIST -a". MLSD lists every name; where the
// connection lists with LIST, ListHidden sends "LIST -a dir", and plain
// LIST where that is refused (5xx: a server that takes "-a" for a name).
// all reports whether the listing shows the names with a dot: MLSD, or
// LIST -a accepted.
func (c *Conn) ListHidden(ctx context.Context, dir string) (entries []Entry, all bool, err error) {
	if err := c.settleLogin(ctx); err != nil { // under ctx, as in listAny
		return nil, false, err
	}
	if feats := c.Features(); (feats.Has("MLST") || feats.Has("MLSD")) && !c.noMLSD.Load() {
		entries, err := c.List(ctx, dir) // MLSD, or LIST if MLSD is refused
		if !c.noMLSD.Load() {
			return entries, true, err
		}
	}
	arg := "-a"
	if dir != "" {
		arg += " " + dir
	}
	entries, err = c.listAll(ctx, "LIST", arg)
	if err == nil || errors.Is(err, ErrBadListing) || !IsPermanent(err) {
		return entries, err == nil || errors.Is(err, ErrBadListing), c.sec.maskErr(err)
	}
	c.logf("%v; listing with LIST (names starting with a dot may be left out)", err)
	entries, err = c.listAll(ctx, "LIST", dir)
	return entries, false, c.sec.maskErr(err)
}

// listAll runs one MLSD or LIST and collects its entries, as List does.
func (c *Conn) listAll(ctx context.Context, verb, dir string) ([]Entry, error) {
	var l listing
	if err := c.list(ctx, verb, dir, func(e Entry, err error) error { return l.add(e, c.sec.maskErr(err)) }); err != nil {
		return nil, err
	}
	return l.result()
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

// list runs one MLSD or LIST and hands its lines' entries to fn as they
// arrive.
func (c *Conn) list(ctx context.Context, verb, dir string, fn func(Entry, error) error) error {
	cmd := withArg(verb, dir)
	t, err := c.StartTransfer(ctx, verb, dir, 0)
	if err != nil {
		return err
	}
	err = c.readListing(ctx, t, listParser{cmd: cmd, mlsd: verb == "MLSD", now: time.Now()}, fn)
	var stop stopped
	switch {
	case err == nil:
	case ctx.Err() != nil:
		// The caller gave up (Ctrl-C): ABOR's reply gets a short grace,
		// as a stalling server may never send it.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortGrace)
		t.Abort(actx)
		cancel()
		return fmt.Errorf("%s: %w", cmd, ctx.Err())
	case errors.Is(err, errTooLarge):
		t.Abort(ctx) // on purpose: the connection stays usable if the server answers
		return fmt.Errorf("%s: %w: more than %d bytes", cmd, ErrBadListing, listingLimit)
	case errors.As(err, &stop):
		t.Abort(ctx)
		return stop.err
	default:
		select {
		case rep := <-t.Final(): // a 426 or 451 explains the broken data connection
			t.End(ctx, true)
			if !rep.OK() {
				return rep.err(cmd)
			}
		default: // stalled or broken without a word: the connection cannot be trusted
			t.End(ctx, false)
		}
		return fmt.Errorf("%s: reading the listing: %w", cmd, err)
	}
	// The server learns that the data ended from the close (proftpd holds
	// its 226 until then).
	t.Data.Close()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case rep := <-t.Final():
		if _, err := t.End(ctx, true); err != nil {
			return err
		}
		if !rep.OK() {
			return rep.err(cmd)
		}
	case <-t.Lost():
		t.End(ctx, false)
		return fmt.Errorf("%s: no final reply: %w", cmd, c.Err())
	case <-timer.C:
		t.End(ctx, false)
		return fmt.Errorf("%s: no final reply within %v of the data's end: %w", cmd, c.timeout, ErrPeerDown)
	case <-ctx.Done():
		t.End(ctx, false)
		return fmt.Errorf("%s: %w", cmd, ctx.Err())
	}
	return nil
}

var errTooLarge = errors.New("listing too large")

// stopped carries the error with which fn stopped a listing.
type stopped struct{ err error }

func (s stopped) Error() string { return s.err.Error() }

// maxListLine bounds one listing line: a longer one is a bad line, skipped
// without being held.
const maxListLine = 64 << 10

// readListing reads the data connection to its end, at most listingLimit
// bytes, each read within the timeout, and hands each line to fn as it is
// parsed: one line at a time is held, never the listing.
func (c *Conn) readListing(ctx context.Context, t *Transfer, p listParser, fn func(Entry, error) error) error {
	stop := context.AfterFunc(ctx, func() { t.Data.Close() })
	defer stop()
	err := scanListing(&listReader{t: t, timeout: c.timeout}, p, fn)
	if isTimeout(err) {
		return fmt.Errorf("data stalled: no bytes for %v: %w", c.timeout, ErrPeerDown)
	}
	return err
}

// scanListing reads a listing from rd to its end and hands each line's
// entry, or its error, to fn; an error from fn comes back as stopped.
func scanListing(rd io.Reader, p listParser, fn func(Entry, error) error) error {
	r := bufio.NewReaderSize(rd, maxListLine)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long := p.tooLong(line)
			for errors.Is(err, bufio.ErrBufferFull) { // the rest of it
				_, err = r.ReadSlice('\n')
			}
			if ferr := fn(Entry{}, long); ferr != nil {
				return stopped{ferr}
			}
		} else if len(line) > 0 && (err == nil || err == io.EOF) { // a line cut by a failure is no line
			e, ok, perr := p.parse(string(bytes.TrimSuffix(line, []byte("\n"))))
			var ferr error
			switch {
			case perr != nil:
				ferr = fn(Entry{}, perr)
			case ok:
				ferr = fn(e, nil)
			}
			if ferr != nil {
				return stopped{ferr}
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// listReader reads a listing's data connection: each read must come
// within the timeout, and all of them together may bring at most
// listingLimit bytes.
type listReader struct {
	t       *Transfer
	timeout time.Duration
	n       int
}

func (r *listReader) Read(b []byte) (int, error) {
	// An error here (net.Pipe's when the peer closed) leaves the Read to
	// report the connection's state.
	r.t.Data.SetReadDeadline(time.Now().Add(r.timeout))
	n, err := r.t.Data.Read(b)
	if r.n += n; r.n > listingLimit {
		return 0, errTooLarge
	}
	return n, err
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
