package resume

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/transfer"
)

// Class is what an error means for what to do next.
type Class int

const (
	Transient   Class = iota // reconnect and try again: network errors, peer down, stalls, 4xx, a final 150
	Intentional              // we stopped on purpose (cancel, Ctrl-C, Close): never reconnect
	Permanent                // the same thing will fail again (5xx, TLS verification)
	Login                    // the server refused the credentials (control.ErrLoginRefused)
	NotFound                 // the remote file does not exist (control.ErrNotFound)
	Local                    // the local side failed (disk full, permission)
	Verify                   // the result did not verify, or a stream could not be continued
)

func (c Class) String() string {
	return [...]string{"transient", "intentional", "permanent", "login", "not found", "local", "verification"}[c]
}

// ErrVerify reports a download or upload whose result does not match the
// remote file.
var ErrVerify = errors.New("verification failed")

// ErrUnverified reports, under Options.RequireVerified, a result that
// nothing could check: the server gave no size and no hash. It wraps
// ErrVerify.
var ErrUnverified = fmt.Errorf("%w: nothing could check it (the server gave no size and no hash)", ErrVerify)

// Classify says what err means.
func Classify(err error) Class {
	var le *transfer.LocalError
	var re *control.ReplyError
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var ce *control.CertError
	var pe *control.ProxyError
	switch {
	case err == nil:
		return Transient
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, control.ErrClosed) && !errors.Is(err, control.ErrPeerDown):
		return Intentional
	case errors.As(err, &le):
		return Local
	case errors.Is(err, errRestart):
		return Transient
	case errors.Is(err, ErrStreamResume):
		return Verify // what the stream holds cannot be shown to go on
	case errors.Is(err, ErrVerify):
		return Verify
	case errors.Is(err, errRenameRefused):
		return Permanent // a 550 to RNFR or RNTO is a refusal, not a missing file
	case errors.Is(err, control.ErrNotFound):
		return NotFound
	case errors.Is(err, ErrBadURL), errors.Is(err, control.ErrBadProxy), errors.Is(err, control.ErrProxyActive):
		return Permanent
	case errors.As(err, &pe):
		switch {
		case pe.Auth:
			return Login // the proxy refused the login: as the server's, asking again fails the same way
		case pe.Permanent:
			return Permanent
		}
		return Transient // the proxy unreachable, or unable to reach the server, or silent
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &ce):
		return Permanent
	case errors.As(err, &re):
		switch {
		case errors.Is(re, control.ErrLoginRefused):
			return Login
		case re.Permanent():
			return Permanent
		}
		return Transient // 4xx, and a final 1xx
	case errors.Is(err, control.ErrBadListing):
		return Permanent // an unknown listing format stays unknown
	case errors.Is(err, control.ErrMalformedReply):
		return Transient
	}
	return Transient // network errors, peer down, stalls, a lost final reply
}
