package control

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// The connection's configuration: Config and TLSMode, with the checks and
// the logging that go with them.

// Config says how to dial and log in.
type Config struct {
	User     string // "" logs in as anonymous
	Password string

	// Timeout bounds every wait: a command's reply not complete this long
	// after its write, or a transfer with no sign of life for this long,
	// means ErrPeerDown. TCP keepalive and TCP_USER_TIMEOUT derive from it.
	// Zero means DefaultTimeout.
	Timeout time.Duration

	TLSMode TLSMode
	TLS     *tls.Config // certificates are verified unless it says otherwise

	// UsePASVAddress trusts the IP address in a 227 reply. By default it is
	// ignored and the control connection's peer address is used: a foreign
	// address is either a server behind NAT that got it wrong or an attempt
	// to make us connect elsewhere.
	UsePASVAddress bool

	// Active makes the server connect to us for data (EPRT, or PORT where
	// EPRT is refused; see active.go), for servers that offer no passive
	// mode. Only the control connection's peer may connect.
	Active bool

	// NoEPSV is what an earlier session with the server learned (kept by
	// the policy above): EPSV refused, so ask PASV first over IPv4. It
	// saves a probe. There is no such hint for MLSD: FEAT, read on every
	// connection, says whether MLST is offered now, and what the server
	// says now wins over what an earlier session saw (List).
	NoEPSV bool

	// NoHash names hash commands ("HASH", "XSHA256", ...) an earlier
	// session found refused although FEAT announced them: Hash does not
	// send them (see Conn.HashRefused).
	NoHash []string

	// Logf, if set, receives the protocol log: "> CMD" and "< reply". PASS
	// arguments are masked.
	Logf func(format string, args ...any)

	// DialContext, if set, dials the control and data connections instead
	// of a net.Dialer with keepalive and TCP_USER_TIMEOUT derived from
	// Timeout (tests use it to run over net.Pipe). With a Proxy, it dials
	// the proxy.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Lockstep writes every command alone and waits for its reply before
	// writing the next, the login included, for a server that loses or
	// garbles commands written together (an earlier session learned it:
	// see Conn.Pipelining). By default the login goes in one write and
	// Batch writes its commands together.
	Lockstep bool

	// LazyLogin makes Dial return before the login's replies are in: the
	// login is written with the next command, whose reply is read after
	// the login's, saving a round trip (see login.go). A login the server
	// refuses then fails that command and ends the connection, with the
	// login's error. Ignored with Lockstep.
	LazyLogin bool

	// Deferral is what an earlier session learned of the server and
	// commands written at the end of a download's data (Conn.Deferral):
	// AnsweredAfter lets the caller write its check there
	// (Transfer.StatBehind).
	Deferral Deferral

	// Proxy, if set, is the SOCKS5 or HTTP CONNECT proxy that the control
	// connection and every data connection are tunnelled through (see
	// Proxy). Active mode cannot go through it (ErrProxyActive).
	Proxy *Proxy
}

// TLSMode selects plain FTP or FTPS.
type TLSMode int

const (
	TLSNone     TLSMode = iota // plain FTP
	TLSExplicit                // AUTH TLS on the plain port (RFC 4217)
	TLSImplicit                // TLS from the first byte (port 990)
)

func (cfg *Config) logf(format string, args ...any) {
	if cfg.Logf != nil {
		cfg.Logf(format, args...)
	}
}

// checkCredentials refuses a user name or password that could not be sent
// as one command line. The password's value is never shown.
func (cfg *Config) checkCredentials() error {
	if err := CheckArg("user", cfg.User); err != nil {
		return err
	}
	return checkSecret("password", cfg.Password)
}
