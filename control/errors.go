package control

import (
	"errors"
	"fmt"
)

// ErrPeerDown reports that the server did not answer in time: a command's
// reply was not complete within the timeout of its write (however many
// bytes of it trickled in), or, during a transfer, neither connection
// showed a sign of life for the timeout. The connection is closed.
var ErrPeerDown = errors.New("peer down: no timely answer")

// ErrClosed reports use of a connection that we closed on purpose (Close or
// Quit). It is never a reason to reconnect.
var ErrClosed = errors.New("control connection closed")

// ErrMalformedReply reports a reply that is not FTP: a bad code line, an
// overlong line or a reply that cannot be parsed for the data it must carry.
var ErrMalformedReply = errors.New("malformed reply")

// ErrConnLost reports that the server or the network ended the control
// connection (EOF or reset) while it was in use.
var ErrConnLost = errors.New("control connection lost")

// ErrRestRefused reports that the server refused REST: the transfer
// cannot start at an offset, only at 0.
var ErrRestRefused = errors.New("REST refused")

// ErrHashRefused marks a hash command the server announced but refused as
// not implemented: the connection does not send it again (Conn.Hash).
var ErrHashRefused = errors.New("hash command refused")

// ReplyError is a reply whose code says the command failed.
type ReplyError struct {
	Cmd  string // the command, with any password masked
	Code int
	Msg  string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.Cmd, e.Code, e.Msg)
}

// Transient reports whether trying again later may succeed: 4xx replies (421
// "service not available", 425 "can't open data connection", 426 "transfer
// aborted", 450, 451, ...).
func (e *ReplyError) Transient() bool { return e.Code >= 400 && e.Code < 500 }

// Permanent reports whether the command will fail the same way again (5xx).
func (e *ReplyError) Permanent() bool { return e.Code >= 500 && e.Code < 600 }

// The replies the layers above act on, as errors a *ReplyError matches
// with errors.Is: control is the one place that knows which codes they
// are, and nothing above it tests a reply code.
var (
	// ErrNotFound is a 550 ("file unavailable"): the file or folder does
	// not exist, or cannot be reached (RFC 959 does not tell the two
	// apart).
	ErrNotFound = errors.New("not found")
	// ErrLoginRefused is a 530 ("not logged in"): the server refused the
	// credentials, or, at the login, a session over its limit.
	ErrLoginRefused = errors.New("login refused")
	// ErrUnavailable is a 421 ("service not available, closing control
	// connection"): an idle timer, a limit of sessions, a shutdown.
	ErrUnavailable = errors.New("service not available")
	// ErrStorageRefused is the server refusing the data itself: 532 (an
	// account is needed to store files), 552 (the quota or the disk is
	// exceeded), 553 (the name is not allowed). Trying again does not
	// help, even when the data connection broke as a result.
	ErrStorageRefused = errors.New("storage refused")
	// ErrRenameToRefused marks a Rename whose second step (RNTO) the
	// server refused after it took the first (RNFR): the old name still
	// stands, the new one was not given.
	ErrRenameToRefused = errors.New("the new name was refused")
)

// Is matches the reply-class errors above: errors.Is(err, ErrNotFound)
// is true for a 550 reply.
func (e *ReplyError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == 550
	case ErrLoginRefused:
		return e.Code == 530
	case ErrUnavailable:
		return e.Code == 421
	case ErrStorageRefused:
		return e.Code == 532 || e.Code == 552 || e.Code == 553
	}
	return false
}

// IsCode reports whether err is a *ReplyError with the given code.
func IsCode(err error, code int) bool {
	var re *ReplyError
	return errors.As(err, &re) && re.Code == code
}

func asReplyError(err error) (*ReplyError, bool) {
	var re *ReplyError
	ok := errors.As(err, &re)
	return re, ok
}

// IsPermanent reports whether err is a 5xx *ReplyError.
func IsPermanent(err error) bool {
	re, ok := asReplyError(err)
	return ok && re.Permanent()
}

// IsTransient reports whether err is a 4xx *ReplyError.
func IsTransient(err error) bool {
	re, ok := asReplyError(err)
	return ok && re.Transient()
}

// sessionRefusal marks a reply that refused a new session: an error
// answer to the greeting, USER or PASS. Its text is the reply's.
type sessionRefusal struct{ err *ReplyError }

func (e *sessionRefusal) Error() string { return e.err.Error() }
func (e *sessionRefusal) Unwrap() error { return e.err }

// SessionRefused reports whether err is the server refusing a new session
// at its greeting or at the login (421 "too many connections", 530 "the
// maximum number of clients ... already connected", or bad credentials),
// and returns that reply. Which it is, control cannot tell: a policy that
// knows what else it holds open to the server can.
func SessionRefused(err error) (*ReplyError, bool) {
	var sr *sessionRefusal
	if errors.As(err, &sr) {
		return sr.err, true
	}
	return nil, false
}

// refused wraps the error of a reply to the greeting, USER or PASS.
func refused(err error) error {
	if re, ok := asReplyError(err); ok {
		return &sessionRefusal{err: re}
	}
	return err
}
