package control

import (
	"context"
	"encoding/hex"
	"fmt"
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

// Hash asks the server for the hash of a whole remote file, as lower-case
// hex: HASH (after OPTS HASH selects algo) where FEAT lists algo under
// HASH, else the X command (XSHA256, XSHA1, XMD5, XCRC).
func (c *Conn) Hash(ctx context.Context, algo, path string) (string, error) {
	var rep Reply
	var err error
	if err := CheckArg("path", path); err != nil {
		return "", err // before OPTS HASH, which would be sent for nothing
	}
	if c.feats.Has("HASH") && containsAlgo(strings.ToUpper(c.feats["HASH"]), algo) {
		// The selection is the session's: it is made once per connection,
		// not before every file.
		if sel, _ := c.hashSel.Load().(string); sel != algo {
			if _, err = c.Cmd(ctx, 2, "OPTS", "HASH "+algo); err != nil {
				return "", err
			}
			c.hashSel.Store(algo)
		}
		rep, err = c.Cmd(ctx, 213, "HASH", path)
	} else if x, ok := xCommand[algo]; ok && c.feats.Has(x) {
		rep, err = c.Cmd(ctx, 2, x, path)
	} else {
		return "", fmt.Errorf("%s: server offers no %s hash", path, algo)
	}
	if err != nil {
		return "", err
	}
	return parseHash(rep.Msg, algo)
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
