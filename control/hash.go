package control

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Hash algorithms as named by the HASH command (draft-bryan-ftpext-hash).
const (
	SHA256 = "SHA-256"
	SHA1   = "SHA-1"
	MD5    = "MD5"
	CRC32  = "CRC32"
)

// xCommand is the older, non-standard command for each algorithm.
var xCommand = map[string]string{SHA256: "XSHA256", SHA1: "XSHA1", MD5: "XMD5", CRC32: "XCRC"}

// HashAlgos returns the hash algorithms the server offers, through HASH or
// an X command, strongest first.
func (f Features) HashAlgos() []string {
	var offered []string
	hashList := strings.ToUpper(f["HASH"])
	for _, algo := range []string{SHA256, SHA1, MD5, CRC32} {
		inHash := f.Has("HASH") && containsAlgo(hashList, algo)
		if inHash || f.Has(xCommand[algo]) {
			offered = append(offered, algo)
		}
	}
	return offered
}

func containsAlgo(list, algo string) bool {
	for _, a := range strings.Split(list, ";") {
		if strings.TrimSuffix(strings.TrimSpace(a), "*") == algo {
			return true
		}
	}
	return false
}

// HashAlgos returns the hash algorithms this connection can still ask
// for, strongest first: those the server offers (Features.HashAlgos)
// through a command it has not refused (see HashRefused).
func (c *Conn) HashAlgos() []string {
	var usable []string
	for _, algo := range c.feats.HashAlgos() {
		if _, ok := c.hashCommand(algo); ok {
			usable = append(usable, algo)
		}
	}
	return usable
}

// hashCommand returns the command that asks for algo: HASH where FEAT
// lists algo under it, else the X command, skipping a refused one.
func (c *Conn) hashCommand(algo string) (string, bool) {
	if c.feats.Has("HASH") && containsAlgo(strings.ToUpper(c.feats["HASH"]), algo) && !c.hashRefused.has("HASH") {
		return "HASH", true
	}
	if x, ok := xCommand[algo]; ok && c.feats.Has(x) && !c.hashRefused.has(x) {
		return x, true
	}
	return "", false
}

// Hash asks the server for the hash of a whole remote file, as lower-case
// hex: HASH (after OPTS HASH selects algo) where FEAT lists algo under
// HASH, else the X command (XSHA256, XSHA1, XMD5, XCRC).
//
// A server may announce a hash command and then refuse it as not
// implemented (500, 502, 504, or 202 "superfluous"; 501 too for OPTS HASH,
// whose argument is only the algorithm). The connection then remembers
// the command as refused (HashRefused) and never sends it again; the
// error wraps ErrHashRefused. Replies about the file (550, 450, ...) are
// not remembered: the next file may hash fine.
func (c *Conn) Hash(ctx context.Context, algo, path string) (string, error) {
	var rep Reply
	var err error
	if err := CheckArg("path", path); err != nil {
		return "", err // before OPTS HASH, which would be sent for nothing
	}
	cmd, ok := c.hashCommand(algo)
	switch {
	case !ok:
		return "", fmt.Errorf("%s: server offers no usable %s hash", path, algo)
	case cmd == "HASH":
		// The selection is the session's: it is made once per connection,
		// not before every file.
		if sel, _ := c.hashSel.Load().(string); sel != algo {
			if _, err = c.Cmd(ctx, 2, "OPTS", "HASH "+algo); err != nil {
				return "", c.noteHashRefusal("HASH", err, 501)
			}
			c.hashSel.Store(algo)
		}
		rep, err = c.Cmd(ctx, 213, "HASH", path)
	default:
		rep, err = c.Cmd(ctx, 2, cmd, path)
		if err == nil && rep.Code == 202 {
			err = rep.err(cmd + " " + path)
		}
	}
	if err != nil {
		return "", c.noteHashRefusal(cmd, err)
	}
	digest, err := parseHash(rep.data(), algo)
	return digest, rep.hide(err)
}

// noteHashRefusal remembers cmd as refused when err is a reply saying the
// command is not implemented (or one of also's codes), and returns err,
// marked with ErrHashRefused if so.
func (c *Conn) noteHashRefusal(cmd string, err error, also ...int) error {
	re, ok := asReplyError(err)
	if !ok {
		return err
	}
	switch {
	case re.Code == 500, re.Code == 502, re.Code == 504, re.Code == 202, slices.Contains(also, re.Code):
	default:
		return err
	}
	c.hashRefused.add(cmd)
	c.logf("%v: not asking for %s again on this connection", err, cmd)
	return fmt.Errorf("%w: %w", ErrHashRefused, err)
}

// hexLen is the length in hex digits of each algorithm's digest.
var hexLen = map[string]int{SHA256: 64, SHA1: 40, MD5: 32, CRC32: 8}

// parseHash finds the digest in a hash reply: "SHA-256 0-N <hex> name"
// (HASH) or "<hex>" (X commands), on the reply's last line; a line before
// it may be free text ("Computing SHA-256 digest").
func parseHash(msg, algo string) (string, error) {
	lines := strings.Split(msg, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		for _, f := range strings.Fields(lines[i]) {
			if len(f) == hexLen[algo] {
				if _, err := hex.DecodeString(f); err == nil {
					return strings.ToLower(f), nil
				}
			}
		}
	}
	return "", fmt.Errorf("%w: no %s digest in %q", ErrMalformedReply, algo, msg)
}
