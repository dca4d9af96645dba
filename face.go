package keepftp

import (
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
)

// The types and values a program using keepftp needs, so that it imports
// this package alone (as net/http's users need no other).
//
// They are aliases of the lower layers' own types, not copies: a Target
// that ParseURL returns, an Outcome of a transfer, an Entry of a listing
// pass through the layers unchanged, with their methods (Target.String,
// EntryType.String), and no layer converts them at its boundary. Users
// never need the lower packages' names. ErrorClass is the one type of its
// own (classify.go): it has classes the retry loop does not know.
type (
	// Target is a remote file: server, login, path (ParseURL).
	Target = resume.Target
	// Outcome is what a finished transfer did: status, size, attempts,
	// and how the result was checked.
	Outcome = resume.Outcome
	// Entry is one name of a remote directory listing.
	Entry = control.Entry
	// EntryType is an Entry's kind: File, Dir, Link or Other.
	EntryType = control.EntryType
	// TransferOptions are the per-transfer settings of Options.Transfer.
	TransferOptions = resume.Options
	// RetryPolicy says how often and how long failed attempts are retried.
	RetryPolicy = resume.Policy
	// TLSMode says whether and how a connection uses TLS.
	TLSMode = control.TLSMode
	// CertError is how a server certificate that fails the TLS options
	// is refused: the cause and the certificate's SHA-256 fingerprint.
	CertError = control.CertError
	// ConnConfig is one control connection's login and settings (for
	// doctor, which probes a single connection).
	ConnConfig = control.Config
	// Dest is a local destination as keepftp writes it (LocalDest).
	Dest = resume.Dest
	// Proxy is a SOCKS5 or HTTP CONNECT proxy a connection is tunnelled
	// through (ProxyOptions.For chooses it; ConnConfig.Proxy takes it).
	Proxy = control.Proxy
	// ProxyError is a tunnel the proxy did not open, and why.
	ProxyError = control.ProxyError
)

// The kinds of Entry.
const (
	File  = control.File
	Dir   = control.Dir
	Link  = control.Link
	Other = control.Other // devices, pipes, unknown types: never taken for a file
)

// The TLS modes of a Target (from its URL's scheme).
const (
	TLSNone     = control.TLSNone     // ftp://
	TLSExplicit = control.TLSExplicit // ftpes://: AUTH TLS on the plain port
	TLSImplicit = control.TLSImplicit // ftps://: TLS from the first byte
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
// (or none yet) atomically, through NAME.part and a rename; a symbolic link
// through to the file it leads to; anything else that exists ("-", a
// device, a FIFO, a socket, /dev/stdout) in place, as a stream, never
// replaced.
func LocalDest(name string) (Dest, error) { return resume.LocalDest(name) }

// ParseURL parses ftp://[user[:pass]@]host[:port]/path (ftps:// implicit
// TLS, ftpes:// explicit), refusing anything that could not go on the wire.
func ParseURL(raw string) (Target, error) { return resume.ParseURL(raw) }

// KeepaliveInterval is the NOOP interval used during transfers for a
// timeout when none is given.
func KeepaliveInterval(timeout time.Duration) time.Duration { return noop.Interval(timeout) }

// ParseProxy parses a proxy URL (socks5://, socks5h:// or http://, with
// an optional user:password@ and port); errors wrap ErrBadProxy and never
// show the password.
func ParseProxy(raw string) (*Proxy, error) { return control.ParseProxy(raw) }
