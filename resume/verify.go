package resume

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"strings"

	"github.com/keepftp/keepftp/control"
)

// newHash returns a local hash for a HASH algorithm name.
func newHash(algo string) hash.Hash {
	switch algo {
	case control.SHA256:
		return sha256.New()
	case control.SHA1:
		return sha1.New()
	case control.MD5:
		return md5.New()
	case control.CRC32:
		return crc32.NewIEEE()
	}
	return nil
}

// verifyHash compares the remote file's hash, in the strongest algorithm
// the connection can still ask for, with the local file's. It returns how
// it verified ("" if the server offers no usable hash), or an error
// wrapping ErrVerify on a mismatch. A server that offers a hash but fails
// to compute it is not a mismatch: that is reported as an ordinary error.
// A hash command refused as not implemented is not asked again on the
// connection (control.ErrHashRefused): the next algorithm, if any, is
// tried instead.
func verifyHash(ctx context.Context, c *control.Conn, remotePath, localPath string) (string, error) {
	return verifyHashOf(ctx, c, remotePath, localPath, func(algo string) (string, error) { return hashFile(localPath, algo) })
}

// verifyHashOf is verifyHash with the local hash made by localHash: of a
// file already open, say. localName names it in errors.
func verifyHashOf(ctx context.Context, c *control.Conn, remotePath, localName string, localHash func(algo string) (string, error)) (string, error) {
	var algo, remote string
	var err error
	for {
		algos := c.HashAlgos()
		if len(algos) == 0 {
			return "", err // the last refusal, if this call saw one
		}
		algo = algos[0]
		remote, err = c.Hash(ctx, algo, remotePath)
		if err == nil {
			break
		}
		if !errors.Is(err, control.ErrHashRefused) {
			return "", err
		}
	}
	local, err := localHash(algo)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", localName, err)
	}
	if algo == control.CRC32 { // some servers drop leading zeros
		remote = strings.TrimLeft(remote, "0")
		local = strings.TrimLeft(local, "0")
	}
	if remote != local {
		return "", fmt.Errorf("%w: %s of %s is %s on the server, %s here", ErrVerify, algo, remotePath, remote, local)
	}
	return algo, nil
}

func hashFile(name, algo string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return HashReader(f, algo)
}

// HashReader returns the hex digest of r's bytes in a HASH algorithm
// (control.SHA256, SHA1, MD5, CRC32).
func HashReader(r io.Reader, algo string) (string, error) {
	h := newHash(algo)
	if h == nil {
		return "", fmt.Errorf("no local hash %q", algo)
	}
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
