package keepftp

import (
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
)

// The types and values a program using keepftp needs, so that it imports
// this package alone (as net/http's users need no other). They are the
// lower layers' own, under the names users see here.
type (
	// Target is a remote file: server, login, path (ParseURL).
	Target = resume.Target
	// Outcome is what a finished transfer did: status, size, attempts,
	// and how the result was checked.
	Outcome = resume.Outcome
	// Entry is one name of a remote directory listing.
	Entry = control.Entry
	// TransferOptions are the per-transfer settings of Options.Transfer.
	TransferOptions = resume.Options
	// RetryPolicy says how often and how long failed attempts are retried.
	RetryPolicy = resume.Policy
	// TLSMode says whether and how a connection uses TLS.
	TLSMode = control.TLSMode
	// ConnConfig is one control connection's login and settings (for
	// doctor, which probes a single connection).
	ConnConfig = control.Config
	// ErrorClass is what an error means for what to do next (Classify).
	ErrorClass = resume.Class
)

// The classes of Classify.
const (
	Transient    = resume.Transient   // network errors, peer down, stalls, 4xx: worth another attempt
	Intentional  = resume.Intentional // cancelled on purpose (Ctrl-C, Close)
	Permanent    = resume.Permanent   // 5xx, TLS verification: the same thing would fail again
	LoginFailed  = resume.Login       // the server refused the credentials
	NotFound     = resume.NotFound    // the remote file does not exist
	LocalFailed  = resume.Local       // the local side failed (disk full, permission)
	VerifyFailed = resume.Verify      // the result did not verify
)

// Defaults of the transfer settings.
const (
	DefaultTimeout    = control.DefaultTimeout
	DefaultPartSuffix = resume.DefaultPartSuffix
)

// NotVerified is Outcome.Verified when nothing checked the result: the
// server gave no size and no hash (Outcome.Status then ends in
// "(unverified)").
const NotVerified = resume.NotVerified

// DefaultPolicy is the retry policy used when none is given.
var DefaultPolicy = resume.DefaultPolicy

// Errors users check with errors.Is.
var (
	ErrBadURL   = resume.ErrBadURL    // a URL keepftp cannot use
	ErrPeerDown = control.ErrPeerDown // the server stopped answering within the timeout
)

// ParseURL parses ftp://[user[:pass]@]host[:port]/path (ftps:// implicit
// TLS, ftpes:// explicit), refusing anything that could not go on the wire.
func ParseURL(raw string) (Target, error) { return resume.ParseURL(raw) }

// Classify says what err means: the one place errors are sorted into
// classes (a program maps them to exit codes, a retry loop to decisions).
func Classify(err error) ErrorClass { return resume.Classify(err) }

// KeepaliveInterval is the NOOP interval used during transfers for a
// timeout when none is given.
func KeepaliveInterval(timeout time.Duration) time.Duration { return noop.Interval(timeout) }
