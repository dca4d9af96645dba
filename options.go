package keepftp

import (
	"context"
	"io"
	"net"
	"time"
)

// Options configure a Client. The zero value is usable: plain defaults,
// certificates verified, no proxy, four files at once, learned server
// profiles in the user's cache directory. Every setting is here, once.
type Options struct {
	// Timeout is how long a server may stay silent before it is taken
	// for down (ErrPeerDown): a command's reply, and during a transfer
	// any sign of life on either connection. 0 is DefaultTimeout.
	Timeout time.Duration
	// Keepalive is the NOOP interval on the control connection during
	// transfers and while a pooled connection idles. 0 chooses: a quarter
	// of Timeout (KeepaliveInterval), or less where a server's profile
	// shows a shorter idle limit on the path. NoKeepalive sends none.
	Keepalive   time.Duration
	NoKeepalive bool

	// Parallel is how many files GetAll, PutAll and Mirror move at once,
	// and the most control connections the Client holds open to one
	// server (and login), in use or idle: calls from several goroutines
	// share them. 0 is DefaultParallel. A server that limits the
	// connections per client is found out, and remembered (see the
	// profiles): the work goes on over the connections it takes.
	Parallel int

	// Retry says how often failed attempts are tried again, after how
	// long: a transfer's, a listing's, making a folder's. The zero value
	// is DefaultPolicy.
	Retry RetryPolicy

	// RateLimit caps each transfer at that many bytes per second; 0 is
	// none.
	RateLimit int64
	// Segments > 1 downloads a file in that many ranges at once, each on
	// a connection of its own, beside Parallel's (like lftp's pget -n);
	// files under 2 MiB, and servers without REST STREAM, get one.
	Segments int
	// NoVerify skips the hash check after a transfer (the size is always
	// checked).
	NoVerify bool
	// RequireVerified makes a result nothing could check (the server gave
	// no size and no hash) an error, ErrUnverified (class VerifyFailed),
	// instead of a success marked "(unverified)": a download stays its
	// partial file, not renamed to its name; an upload stays on the
	// server.
	RequireVerified bool
	// Fresh ignores and replaces any partial download.
	Fresh bool
	// NoMtime keeps the local file's time as the download made it, and
	// the server file's as the upload made it, instead of the source's.
	NoMtime bool
	// PartSuffix names a download's partial file beside it (NAME+suffix);
	// "" is DefaultPartSuffix. A batch of several files and a mirror keep
	// theirs in StagingDir instead.
	PartSuffix string
	// Inplace makes an upload write the final name directly, with no
	// temporary and no rename: for servers without RNFR. A reader on the
	// server may then see the file half written, and a later run cannot
	// tell a partial upload from an older file: it starts again from 0.
	Inplace bool

	// Active makes the server connect to this machine for data (PORT,
	// EPRT) instead of the other way round.
	Active bool
	// TLS holds the FTPS certificate settings. A file that cannot be read
	// fails every call with the reason.
	TLS TLSOptions
	// Proxy says which proxy each server is reached through (curl's
	// --proxy and --noproxy, and ALL_PROXY and NO_PROXY). The zero value
	// connects directly. A URL that cannot be used fails every call with
	// the reason.
	Proxy ProxyOptions
	// DialContext, if set, dials every connection, control and data (the
	// proxy's, with a proxy), instead of a net.Dialer: a program's own
	// network, or a test's faults.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Credentials, if set, completes the login of every URL before use
	// (from a netrc file, the environment, a prompt).
	Credentials func(*Target) error
	// Stdout is where a download to "-" (standard output) goes; nil is
	// os.Stdout. A program running several commands in one process (the
	// command line's tests) gives each its own.
	Stdout io.Writer

	// Logf, if set, receives notes for a human from everything the Client
	// does: the retries and warnings, what it learns about a server, the
	// profiles it applies. No package-level logger is involved. It is
	// called from the transfers' goroutines: it must be safe for
	// concurrent use (log.Printf is).
	Logf func(format string, args ...any)
	// ProtocolLog, if set, receives the FTP conversation, command by
	// command and reply by reply, with passwords masked (the command
	// line's -v). Like Logf, it is called from several goroutines (a
	// connection's reader, a data connection's TLS handshake) and must be
	// safe for concurrent use.
	ProtocolLog func(format string, args ...any)
	// Events, if set, receives what happens to every file, from the
	// transfers' goroutines: it must be safe for concurrent use.
	Events func(Event)
	// ProgressEvery is how often a running transfer sends an
	// EventProgress (default 1s).
	ProgressEvery time.Duration

	// NoProfile turns off the learned server profiles: nothing is read
	// from or written to ProfileDir. With profiles, what a run learns
	// about a server (the path's idle limit, NOOP behaviour, features,
	// connection limit, TLS version) sets the next run's keepalive and
	// parallelism and spares it probes whose answers are known.
	NoProfile bool
	// ProfileDir holds the profiles; "" is os.UserCacheDir()/keepftp.
	ProfileDir string

	// Filter, if set, decides which names of a tree are taken: the
	// entries of a mirror's walk (both sides), and the files a pattern URL
	// of GetAll (or Expand) stands for. A URL without a pattern, and the
	// files given to Put and PutAll, are taken as named: a program that
	// walks a local tree asks Filter.Includes itself. What the Filter
	// leaves out is never copied, deleted or removed.
	Filter *Filter

	// RemoveSource makes each copy a move: once a file's copy is verified
	// (by the server's hash where it has one, else by size) its source is
	// removed, the remote file (DELE) after a download, the local one
	// after an upload. A download is first synced to disk (the file and
	// its folder). A copy that failed, that nothing could verify, or that
	// a mirror skipped as up to date is never removed. FileResult.Removed
	// and an EventRemoved say what was.
	RemoveSource bool
}
