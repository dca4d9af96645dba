package control

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Commands that change files on the server: rename, set a file's time
// (Delete, RemoveDir and Mkdir are in simplecmd.go). Each is built here,
// from a verb and a checked argument, like every other command.

// Rename renames the remote file from to to: RNFR then RNTO, written
// together (one round trip). RNFR's state lives only until the next
// command, the RNTO written with it: when RNFR is refused (the file is not
// there), the server answers that RNTO 503 (RNFR needed) and renames
// nothing. The error is RNFR's refusal if it was refused, else RNTO's.
func (c *Conn) Rename(ctx context.Context, from, to string) error {
	reps, err := c.Batch(ctx, Command{Verb: "RNFR", Arg: from, Expect: 350}, Command{Verb: "RNTO", Arg: to, Expect: 2})
	if err != nil {
		return err
	}
	if reps[0].Err != nil {
		return reps[0].Err
	}
	if _, refused := asReplyError(reps[1].Err); refused {
		return fmt.Errorf("%w: %w", ErrRenameToRefused, reps[1].Err)
	}
	return reps[1].Err
}

// The ways a server may take a file's modification time (SetModTime).
const (
	// SetTimeMFMT is "MFMT YYYYMMDDhhmmss path" (draft-somers-ftp-mfxx),
	// where FEAT lists MFMT: proftpd, pure-ftpd, pyftpdlib.
	SetTimeMFMT = "MFMT"
	// SetTimeMDTM is "MDTM YYYYMMDDhhmmss path", MDTM with a time before
	// the path: vsftpd (mdtm_write, its default), some others.
	SetTimeMDTM = "MDTM"
	// SetTimeSiteUtime is "SITE UTIME YYYYMMDDhhmmss path": pure-ftpd,
	// some others.
	SetTimeSiteUtime = "SITE UTIME"
)

// SetTimeMethods are the ways SetModTime knows, in the order worth trying
// on a server whose way is not known: MFMT is the standard one (tried
// only where FEAT lists it), the others are tried after it.
var SetTimeMethods = []string{SetTimeMFMT, SetTimeMDTM, SetTimeSiteUtime}

// SetModTime sets path's modification time to t (to the second, UTC) the
// way how names, and reads it back in the same round trip: MLST's modify
// where FEAT lists MLST, else MDTM. It returns the time read back, which
// the caller compares with t: a server may answer 2xx and keep another
// time (or, for a form it does not know, answer about another file).
// setErr is the refusal of the setting command; the error is for the
// connection, or a read back that failed or could not be parsed.
func (c *Conn) SetModTime(ctx context.Context, how, path string, t time.Time) (got time.Time, setErr, err error) {
	stamp := t.UTC().Format("20060102150405")
	var set Command
	switch how {
	case SetTimeMFMT:
		set = Command{Verb: "MFMT", Arg: stamp + " " + path, Expect: 2}
	case SetTimeMDTM:
		set = Command{Verb: "MDTM", Arg: stamp + " " + path, Expect: 2}
	case SetTimeSiteUtime:
		set = Command{Verb: "SITE", Arg: "UTIME " + stamp + " " + path, Expect: 2}
	default:
		return time.Time{}, nil, fmt.Errorf("%w: no way to set a time called %s", ErrInvalidArgument, strconv.Quote(how))
	}
	read := Command{Verb: "MDTM", Arg: path, Expect: 213}
	mlst := c.feats.Has("MLST")
	if mlst {
		read = Command{Verb: "MLST", Arg: path, Expect: 250}
	}
	reps, err := c.Batch(ctx, set, read)
	if err != nil {
		return time.Time{}, nil, err
	}
	setErr = reps[0].Err
	if reps[1].Err != nil {
		return time.Time{}, setErr, reps[1].Err
	}
	if !mlst {
		got, err = ParseTime(reps[1].data())
		return got, setErr, reps[1].hide(err)
	}
	facts, err := mlstFacts(reps[1].data())
	if err != nil {
		return time.Time{}, setErr, reps[1].hide(err)
	}
	v, ok := facts["modify"]
	if !ok {
		return time.Time{}, setErr, fmt.Errorf("%w: MLST %s gives no modify fact", ErrMalformedReply, path)
	}
	got, err = ParseTime(v)
	return got, setErr, reps[1].hide(err)
}

// ModTimes asks MDTM of each path, written together in groups (one round
// trip per group). The error is for the connection only; a refused or
// garbled answer shows in that path's FileStat.ModTimeErr.
func (c *Conn) ModTimes(ctx context.Context, paths ...string) ([]FileStat, error) {
	out := make([]FileStat, 0, len(paths))
	for len(paths) > 0 {
		n := min(len(paths), maxPipelined)
		cmds := make([]Command, n)
		for i, p := range paths[:n] {
			cmds[i] = Command{Verb: "MDTM", Arg: p, Expect: 213}
		}
		reps, err := c.Batch(ctx, cmds...)
		if err != nil {
			return out, err
		}
		for _, r := range reps {
			st := FileStat{Size: -1, ModTimeErr: r.Err}
			if r.Err == nil {
				st.ModTime, st.ModTimeErr = ParseTime(r.data())
				st.ModTimeErr = r.hide(st.ModTimeErr)
			}
			out = append(out, st)
		}
		paths = paths[n:]
	}
	return out, nil
}

// maxPipelined bounds the commands ModTimes writes at once: a server's
// input buffer and the replies it must queue stay small.
const maxPipelined = 16

// mlstFacts parses an MLST reply's facts: "250-Listing path", " facts
// name", "250 End": the entry is the second line, after one space that
// some servers leave out.
func mlstFacts(msg string) (Facts, error) {
	lines := strings.Split(msg, "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("%w: MLST reply without facts: %q", ErrMalformedReply, msg)
	}
	f, _, err := ParseFacts(strings.TrimPrefix(lines[1], " "))
	return f, err
}
