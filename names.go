package keepftp

import (
	"fmt"
	"net/url"
	"path"

	"github.com/keepftp/keepftp/resume"
)

// The one check of the names a server lists, for every walk that uses
// them as local names: a pattern's files, a mirror's tree.

// SafeName reports whether a name from a remote listing can be used as one
// component of a local path: not empty, not "." or "..", without a path
// separator, and without control characters (CR, LF and NUL above all,
// which would end a command line early if the name were sent back to the
// server). A hostile server's "../../.bashrc" is not.
func SafeName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		if b := name[i]; b < 0x20 || b == 0x7f || b == '/' || b == '\\' {
			return false
		}
	}
	return true
}

// listedName checks one name of the listing of dir before it is used,
// and returns the entry's target. A name that cannot be a local path
// component (SafeName) is refused with ErrUnsafeName, and its target's
// URL shows it percent-encoded, so that its control bytes never reach a
// terminal or a log raw. A name seen before in the same listing is
// refused too (two entries would race for one local file); seen records
// the names taken.
func listedName(dir resume.Target, name string, seen map[string]bool) (resume.Target, error) {
	t := dir
	switch {
	case !SafeName(name):
		t.Path = path.Join(dir.Path, url.PathEscape(name))
		return t, errUnsafeName(name)
	case seen[name]:
		t.Path = path.Join(dir.Path, name)
		return t, fmt.Errorf("%q is listed more than once", name)
	}
	seen[name] = true
	t.Path = path.Join(dir.Path, name)
	return t, nil
}
