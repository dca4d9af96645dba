package resume

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
	"time"
)

// UploadPartSuffix ends the name of an upload's temporary: an upload is
// written to ".NAME.TAG.keepftp-part" in the target's directory, verified
// there, then renamed to NAME (see UploadPartName).
const UploadPartSuffix = ".keepftp-part"

// maxNameLen is the longest file name most servers' file systems take.
const maxNameLen = 255

// tagLen is the length of the TAG of an upload's temporary, in hex digits.
const tagLen = 8

// UploadPartName returns the remote path of the temporary that an upload
// of a local file of this size and modification time to the remote path
// final is written to: ".NAME.TAG.keepftp-part" beside final. TAG is made
// from the size and the time, so the same local file gives the same name
// on every run (a rerun finds its temporary by name and resumes it), and a
// local file that changed gives another: bytes written from an older
// version are never continued with a newer one's. A name that would be
// longer than a file name can be has NAME replaced by a hash of it.
func UploadPartName(final string, size int64, mtime time.Time) string {
	dir, base := path.Split(final)
	sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d", size, mtime.UnixNano()))
	tag := hex.EncodeToString(sum[:tagLen/2])
	name := "." + base + "." + tag + UploadPartSuffix
	if len(name) > maxNameLen {
		h := sha256.Sum256([]byte(base))
		name = ".keepftp-" + hex.EncodeToString(h[:8]) + "." + tag + UploadPartSuffix
	}
	return dir + name
}

// IsUploadPart reports whether a file name has the form of an upload's
// temporary (UploadPartName): names of that form are keepftp's, found
// again on a rerun, and never taken for files of their own.
func IsUploadPart(name string) bool {
	rest, ok := strings.CutSuffix(name, UploadPartSuffix)
	if !ok || len(rest) < 1+1+1+tagLen || rest[0] != '.' || rest[len(rest)-tagLen-1] != '.' {
		return false
	}
	for _, b := range []byte(rest[len(rest)-tagLen:]) {
		if !('0' <= b && b <= '9' || 'a' <= b && b <= 'f') {
			return false
		}
	}
	return true
}
