package control

import (
	"context"
	"time"
)

// Simple commands: one command each, sent in lockstep with Cmd, its reply
// checked and parsed.

// Noop sends NOOP in lockstep (between transfers) and waits for its answer.
func (c *Conn) Noop(ctx context.Context) error {
	_, err := c.Cmd(ctx, 0, "NOOP", "")
	return err
}

// Size returns the size in bytes of a remote file (SIZE, RFC 3659; the
// connection is in TYPE I, where the answer is the byte count).
func (c *Conn) Size(ctx context.Context, path string) (int64, error) {
	rep, err := c.Cmd(ctx, 213, "SIZE", path)
	if err != nil {
		return 0, err
	}
	n, err := parseSize(rep.data())
	return n, rep.hide(err)
}

// ModTime returns a remote file's modification time (MDTM, RFC 3659), UTC.
func (c *Conn) ModTime(ctx context.Context, path string) (time.Time, error) {
	rep, err := c.Cmd(ctx, 213, "MDTM", path)
	if err != nil {
		return time.Time{}, err
	}
	t, err := ParseTime(rep.data())
	return t, rep.hide(err)
}

// Pwd returns the current directory.
func (c *Conn) Pwd(ctx context.Context) (string, error) {
	rep, err := c.Cmd(ctx, 257, "PWD", "")
	if err != nil {
		return "", err
	}
	dir, err := parsePWD(rep.data())
	return dir, rep.hide(err)
}

// Mlst returns the RFC 3659 facts of one file. Servers without MLST answer
// with a 5xx *ReplyError.
func (c *Conn) Mlst(ctx context.Context, path string) (Facts, error) {
	rep, err := c.Cmd(ctx, 250, "MLST", path)
	if err != nil {
		return nil, err
	}
	f, err := mlstFacts(rep.data())
	return f, rep.hide(err)
}

// Mkdir creates a remote directory (MKD).
func (c *Conn) Mkdir(ctx context.Context, path string) error {
	_, err := c.Cmd(ctx, 257, "MKD", path)
	return err
}

// Delete removes a remote file (DELE). Nothing above this package spells
// the command: a caller that means to remove a file calls Delete.
func (c *Conn) Delete(ctx context.Context, path string) error {
	_, err := c.Cmd(ctx, 2, "DELE", path) // 250 by RFC 959; a 200 is no failure either
	return err
}

// ChangeDir makes path the session's current directory (CWD). keepftp
// sends absolute paths only, so the current directory changes the meaning
// of nothing it sends; a caller uses CWD to ask whether the server can
// enter a folder (a 550 says it cannot).
func (c *Conn) ChangeDir(ctx context.Context, path string) error {
	_, err := c.Cmd(ctx, 2, "CWD", path) // 250 by RFC 959; a 200 is no failure either
	return err
}

// RemoveDir removes an empty remote directory (RMD). A directory that
// still holds anything is refused by the server (a 5xx), never emptied
// here: a caller removes what it holds first, one name at a time, so that
// nothing it did not mean to remove goes.
func (c *Conn) RemoveDir(ctx context.Context, path string) error {
	_, err := c.Cmd(ctx, 2, "RMD", path) // 250 by RFC 959; a 200 is no failure either
	return err
}
