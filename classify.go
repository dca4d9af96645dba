package keepftp

import (
	"errors"

	"github.com/keepftp/keepftp/resume"
)

// ErrorClass is what an error from this package means: what a program
// tells its user, or a script its exit code, or a caller whether to try
// again. Classify is the one place errors are sorted into classes.
type ErrorClass int

const (
	Transient    ErrorClass = iota // network errors, peer down, stalls, 4xx: gave up after retries
	Intentional                    // stopped on purpose (the context was cancelled, Close)
	Permanent                      // the server refused for good (a 5xx, TLS verification): the same would fail again
	LoginFailed                    // the server refused the credentials (530), or the proxy refused its own
	NotFound                       // the remote file does not exist
	LocalFailed                    // the local side failed (disk full, permission)
	VerifyFailed                   // the result did not verify
	BadURL                         // a URL keepftp cannot use (ErrBadURL, ErrBadProxy; active mode through a proxy, ErrProxyActive): nothing was tried
	LeftOut                        // a batch or mirror left entries out (ErrLeftOut) and copied the rest, or held deletes back (ErrNotDeleted)
)

func (c ErrorClass) String() string {
	switch c {
	case Transient:
		return "transient"
	case Intentional:
		return "intentional"
	case Permanent:
		return "permanent"
	case LoginFailed:
		return "login failed"
	case NotFound:
		return "not found"
	case LocalFailed:
		return "local"
	case VerifyFailed:
		return "verification failed"
	case BadURL:
		return "bad URL"
	case LeftOut:
		return "left out"
	}
	return "unknown"
}

// Classify says what err means. The classes of a transfer's errors are
// the retry loop's own (package resume decides with them whether to try
// again), so that a program and the retry loop never disagree; to them
// Classify adds the Client's: a URL it cannot use, entries left out.
// A cancellation is Intentional whatever else the error wraps.
func Classify(err error) ErrorClass {
	if errors.Is(err, ErrBadURL) || errors.Is(err, ErrBadProxy) || errors.Is(err, ErrProxyActive) {
		return BadURL
	}
	c := resume.Classify(err)
	if c != resume.Intentional && (errors.Is(err, ErrLeftOut) || errors.Is(err, ErrNotDeleted)) {
		return LeftOut
	}
	if c != resume.Intentional && errors.Is(err, errUnreadable) {
		return Permanent // the server refused to enter the folder: it would again
	}
	switch c {
	case resume.Intentional:
		return Intentional
	case resume.Permanent:
		return Permanent
	case resume.Login:
		return LoginFailed
	case resume.NotFound:
		if errors.Is(err, ErrNotRemoved) {
			return Permanent // the copy was made: a 550 to DELE is a refusal, not a missing file
		}
		return NotFound
	case resume.Local:
		return LocalFailed
	case resume.Verify:
		return VerifyFailed
	}
	return Transient
}
