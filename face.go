package keepftp

import (
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
)

// The types and values a program using keepftp needs, so that it imports
// this package alone (as net/http's users need no other). They are this
// package's own: the layers below have their own types, which the Client
// converts at its boundary (convert.go), so that the face can stay as it
// is while the layers change. The two aliases are error types, which
// errors.As must match exactly as the layers return them.

// Target is a remote file or folder: the server, the login and the path,
// as ParseURL reads them from a URL.
type Target struct {
	Addr     string // host:port
	User     string // "" for anonymous
	Password string
	Path     string
	TLSMode  TLSMode
}

// String is the target's URL without the password.
func (t Target) String() string { return t.lower().String() }

// TLSMode says whether and how a connection uses TLS: it comes from the
// URL's scheme.
type TLSMode int

// The TLS modes of a Target.
const (
	TLSNone     TLSMode = iota // ftp://
	TLSExplicit                // ftpes://: AUTH TLS on the plain port
	TLSImplicit                // ftps://: TLS from the first byte
)

// Entry is one name of a remote directory listing.
type Entry struct {
	// Name is the name as the server sent it; NOT sanitised: see SafeName
	// before using it as a local path.
	Name string
	Type EntryType
	// Size is the size in bytes, -1 if unknown.
	Size int64
	// ModTime is zero if unknown. MLSD times are UTC and to the second;
	// LIST times are the server's wall clock labelled UTC, to the minute
	// or the day.
	ModTime time.Time
	// Target is a symbolic link's target, where the listing gives it.
	Target string
	// Facts are the MLSD facts with lower-case names; nil for LIST.
	Facts map[string]string
}

// EntryType is an Entry's kind.
type EntryType int

// The kinds of Entry. The zero value is Other, so that an entry whose
// type is unknown is never taken for a file.
const (
	Other EntryType = iota // devices, pipes, unknown types: never taken for a file
	File
	Dir
	Link
)

func (t EntryType) String() string { return control.EntryType(t).String() }

// Outcome is what a finished transfer did.
type Outcome struct {
	Size     int64 // bytes in the result
	Attempts int   // attempts made
	Received int64 // bytes moved over the network, all attempts together
	// Verified is how the result was checked: a hash name ("SHA-256"),
	// "size", or NotVerified when the server offered nothing to check it
	// by.
	Verified string
	// Status is "complete", or "complete (verified)" when the data had
	// all arrived in an earlier attempt whose final reply was lost and a
	// fresh connection confirmed it without moving it again. Either ends
	// in " (unverified)" when nothing could check the result.
	Status string
	// TimeSet, for an upload, is how the server file got the local file's
	// time, checked by reading it back ("MFMT", "MDTM", "SITE UTIME"); ""
	// when it was not set.
	TimeSet string
}

// NotVerified is Outcome.Verified when nothing checked the result: the
// server gave no size and no hash (Outcome.Status then ends in
// "(unverified)").
const NotVerified = resume.NotVerified

// RetryPolicy says how often and how long failed attempts are tried
// again: of a transfer, and of a listing or a folder to make. The zero
// value is DefaultPolicy.
type RetryPolicy struct {
	// Retries is how many failed attempts in a row, none of which moved a
	// byte, end the transfer; 0 (with MaxAttempts set) tries once. An
	// attempt that moved bytes starts the count (and the delay) afresh.
	Retries int
	// BaseDelay is the wait before the first retry; it doubles after each
	// attempt without progress, up to MaxDelay. Each wait is half fixed,
	// half random.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxAttempts bounds the attempts in all, progress or not.
	MaxAttempts int
	// Deadline, if positive, bounds the whole transfer, retries included.
	Deadline time.Duration
}

// DefaultPolicy is the retry policy used when none is given, the command
// line's defaults: 10 attempts in a row without progress, waits from 1s
// doubling up to a minute, 1000 attempts at most.
var DefaultPolicy = policyOf(resume.DefaultPolicy)

// Dest is a local destination as a download writes it (LocalDest).
type Dest struct {
	// Path is the file written: the name given, or, for a symbolic link,
	// the file it leads to.
	Path string
	// Stream, when not "", says what the destination is ("standard
	// output", "a character device", "a FIFO", ...): it is written in
	// place, in order, with no partial file and no rename.
	Stream string

	stdout bool
}

// Stdout reports whether the destination is this process's standard
// output: "-", /dev/stdout, /proc/self/fd/1.
func (d Dest) Stdout() bool { return d.stdout }

// CertError is how a server certificate that fails the TLS options is
// refused: the cause and the certificate's SHA-256 fingerprint (match it
// with errors.As).
type CertError = control.CertError

// ProxyError is a tunnel the proxy did not open, and why (match it with
// errors.As): unreachable, a refused login, a refused destination.
type ProxyError = control.ProxyError

// Defaults of the settings.
const (
	DefaultTimeout    = control.DefaultTimeout
	DefaultPartSuffix = resume.DefaultPartSuffix
	DefaultParallel   = 4
)

// Errors a program checks with errors.Is. Classify sorts every error into
// an ErrorClass; these say more where a program needs it.
var (
	ErrBadURL     = resume.ErrBadURL      // a URL keepftp cannot use
	ErrPeerDown   = control.ErrPeerDown   // the server stopped answering within the timeout
	ErrNotFound   = control.ErrNotFound   // the remote file or folder does not exist (the server's 550)
	ErrGaveUp     = resume.ErrGaveUp      // the retry policy ended the work; the error wraps the last attempt's too
	ErrBadListing = control.ErrBadListing // a listing line that cannot be parsed, or a listing too large
	ErrUnverified = resume.ErrUnverified  // with Options.RequireVerified: nothing could check the result (Classify: VerifyFailed)
	// ErrStreamResume: a download into a stream (standard output, a
	// device, a FIFO) failed after bytes went into it, and no retry could
	// be shown to continue them (VerifyFailed).
	ErrStreamResume = resume.ErrStreamResume
	// ErrBadProxy: a proxy URL keepftp cannot use (ProxyOptions).
	ErrBadProxy = control.ErrBadProxy
	// ErrProxyActive: active mode was asked for through a proxy.
	ErrProxyActive = control.ErrProxyActive
)

// LocalDest says how a download writes the local name: a regular file
// (or none yet) atomically, through a partial file and a rename; a
// symbolic link through to the file it leads to; anything else that
// exists ("-", a device, a FIFO, a socket, /dev/stdout) in place, as a
// stream, never replaced.
func LocalDest(name string) (Dest, error) {
	d, err := resume.LocalDest(name)
	return Dest{Path: d.Path, Stream: d.Stream, stdout: d.Stdout()}, err
}

// ParseURL parses ftp://[user[:pass]@]host[:port]/path (ftps:// implicit
// TLS, ftpes:// explicit), refusing anything that could not go on the
// wire (CR, LF or NUL in any part). Errors wrap ErrBadURL and never show
// the password.
func ParseURL(raw string) (Target, error) {
	t, err := resume.ParseURL(raw)
	return targetOf(t), err
}

// KeepaliveInterval is the NOOP interval used during transfers for a
// timeout when none is given.
func KeepaliveInterval(timeout time.Duration) time.Duration { return noop.Interval(timeout) }
