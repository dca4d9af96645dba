package keepftp

import (
	"errors"
	"fmt"
	"net/url"
)

// The results that GetAll and Mirror share.

// FileResult is what happened to one file of a batch or a mirror, or to
// an entry of a mirror's tree that was left out (Err wraps ErrLeftOut).
type FileResult struct {
	URL     string // without password
	Local   string
	Outcome Outcome
	Skipped bool   // mirror: already up to date
	Reason  string // mirror: why the file was copied or skipped (the plan's Action.Reason)
	Removed bool   // the source was removed after the copy was verified (Options.RemoveSource)
	// Delete marks the result of a mirror's delete (MirrorOptions.Delete),
	// not of a copy: a destination entry the source does not have, gone
	// when Err is nil; or, with Err wrapping ErrNotDeleted, deletes held
	// back.
	Delete bool
	Err    error // nil when done
}

// ErrUnsafeName reports a remote name that cannot be a local path
// component (see SafeName): a hostile listing's "../x" is refused, never
// followed.
var ErrUnsafeName = errors.New("unsafe remote name")

func errUnsafeName(name string) error { return fmt.Errorf("%w %q", ErrUnsafeName, name) }

// ErrLeftOut marks an entry of a remote tree that a batch or a mirror
// left out, and reported, while it copied the rest: a name that cannot be a
// local path, a directory that could not be listed, a listing line that
// could not be parsed, a directory loop, a name listed twice. A run with
// such entries is a partial success, never a complete one.
var ErrLeftOut = errors.New("left out")

func leftOut(err error) error { return fmt.Errorf("%w: %w", ErrLeftOut, err) }

// ErrNotDeleted marks the deletes a mirror held back (MirrorOptions.Delete):
// all of them, when the source's listing was not complete or a file of the
// run failed or was left out; those past MaxDelete. Like ErrLeftOut, it
// makes a run a partial success (the class LeftOut).
var ErrNotDeleted = errors.New("deletes held back")

// redactURL is a URL that did not parse, as a result or an event shows it:
// without its password, in its escaped form (control characters stay
// percent-encoded), or "URL" when even that cannot be told apart.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "URL"
	}
	return u.Redacted()
}
