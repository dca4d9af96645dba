package control

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
)

// FTPS session reuse, by construction.
//
// Servers (vsftpd's require_ssl_reuse, proftpd's mod_tls by default) accept
// a protected data connection only if it resumes the TLS session of the
// control connection it belongs to. Go's TLS client resumes whatever its
// ClientSessionCache holds under the ServerName, and it stores there every
// session ticket it receives, also the TLS 1.3 tickets a server sends on a
// data connection: with one cache shared by all connections, a data
// connection's ticket would replace the control connection's session, and
// the next data connection would resume the wrong one. So every control
// connection gets a store of its own, seen through two caches: the control
// connection's stores what the control connection receives; the data
// connections' only reads it and drops what they receive.

// sessionStore holds the TLS session of one control connection.
type sessionStore struct {
	mu sync.Mutex
	cs *tls.ClientSessionState
}

func (s *sessionStore) get() (*tls.ClientSessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cs, s.cs != nil
}

// controlSessions is the control connection's cache: it keeps the latest
// session (or ticket) the control connection received.
type controlSessions struct{ s *sessionStore }

func (c controlSessions) Get(string) (*tls.ClientSessionState, bool) { return c.s.get() }

func (c controlSessions) Put(_ string, cs *tls.ClientSessionState) {
	c.s.mu.Lock()
	c.s.cs = cs
	c.s.mu.Unlock()
}

// dataSessions is a data connection's cache: it offers the control
// connection's session and never changes it, neither with a ticket the
// data connection received nor with the deletion Go's client does after a
// failed resumption.
type dataSessions struct{ s *sessionStore }

func (d dataSessions) Get(string) (*tls.ClientSessionState, bool) { return d.s.get() }
func (d dataSessions) Put(string, *tls.ClientSessionState)        {}

// tlsConfigFor returns the control connection's TLS config: the user's
// (certificates verified unless it says otherwise), with ServerName from
// addr's host when unset (an IP literal is then verified against the
// certificate's IP SANs, and sent as no SNI), and a session store of its
// own. A ClientSessionCache in cfg is not used: see sessionStore.
func tlsConfigFor(cfg *tls.Config, addr string) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		} else {
			cfg.ServerName = addr
		}
	}
	// With session tickets disabled (the user's choice) data connections
	// cannot resume: servers that require it will refuse them, and
	// ExplainTLSRefusal says why.
	cfg.ClientSessionCache = controlSessions{&sessionStore{}}
	return cfg
}

// dataTLSConfig derives a data connection's config from the control
// connection's: the same verification, the control session to resume,
// and the key exchange group the control connection's handshake settled
// on (group, 0 if unknown) offered first.
func dataTLSConfig(control *tls.Config, group tls.CurveID) *tls.Config {
	cfg := control.Clone()
	if cs, ok := control.ClientSessionCache.(controlSessions); ok {
		cfg.ClientSessionCache = dataSessions{cs.s}
	}
	cfg.CurvePreferences = GroupFirst(cfg.CurvePreferences, group)
	return cfg
}

// goGroupOrder is the order in which crypto/tls ranks key exchange
// groups (its defaults, Go 1.26), whatever order CurvePreferences lists
// them in.
var goGroupOrder = []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

// GroupFirst returns a CurvePreferences list under which a TLS 1.3
// handshake offers group's key share first, from prefs (nil: crypto/tls's
// defaults), for a server known to settle on group. A client sends a key
// share for its first group only (and X25519 beside a hybrid), and a
// server that takes none of the shares offered asks again
// (HelloRetryRequest): a round trip more per handshake. pure-ftpd, built
// on Debian's OpenSSL, takes only P-256, where Go leads with
// X25519MLKEM768 and X25519. crypto/tls ranks groups in its own order and
// ignores the list's, so the groups it ranks above group are left out.
// A group the user's list leaves out is not added; group 0 leaves prefs
// as they are.
func GroupFirst(prefs []tls.CurveID, group tls.CurveID) []tls.CurveID {
	at := slices.Index(goGroupOrder, group)
	if group == 0 || at <= 0 || prefs != nil && !slices.Contains(prefs, group) {
		return prefs
	}
	var out []tls.CurveID
	for _, g := range goGroupOrder[at:] {
		if prefs == nil || slices.Contains(prefs, g) {
			out = append(out, g)
		}
	}
	return out
}

// secureData runs the TLS handshake of a transfer's data connection,
// bounded by the timeout, and returns it wrapped so that closing an
// upload ends TLS cleanly (see tlsData).
func (c *Conn) secureData(ctx context.Context, nc net.Conn, cmd string) (net.Conn, error) {
	var group tls.CurveID
	if st, ok := c.TLSState(); ok {
		group = st.CurveID
	}
	cfg := dataTLSConfig(c.cfg.TLS, group)
	_, offered := cfg.ClientSessionCache.Get(cfg.ServerName)
	offered = offered && !cfg.SessionTicketsDisabled
	tc := tls.Client(nc, cfg)
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	err := tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		var rhe tls.RecordHeaderError
		switch {
		case ctx.Err() != nil, isCertError(err):
		case errors.As(err, &rhe):
			err = fmt.Errorf("the server's data connection does not speak TLS (it sent %q): %w", rhe.RecordHeader[:], err)
		default:
			err = &DataTLSError{Offered: offered, Err: err}
		}
		return nil, tlsHandshakeError(err)
	}
	st := tc.ConnectionState()
	if !st.DidResume {
		c.logf("data connection: %s without resuming the control connection's session (offered: %v); servers that require session reuse refuse it", tls.VersionName(st.Version), offered)
	}
	d := newTLSData(tc, c.timeout, isUpload(cmd))
	d.offered, d.resumed, d.ticketsOff = offered, st.DidResume, cfg.SessionTicketsDisabled
	return d, nil
}

func isUpload(cmd string) bool {
	verb, _, _ := strings.Cut(cmd, " ")
	switch strings.ToUpper(verb) {
	case "STOR", "APPE", "STOU":
		return true
	}
	return false
}

// DataTLSError reports a data connection whose TLS handshake the server
// refused. Servers that require session reuse refuse a data connection
// that does not resume the control connection's session; Offered says
// whether keepftp offered it.
type DataTLSError struct {
	Offered bool
	Err     error
}

func (e *DataTLSError) Error() string {
	what := "keepftp offered to resume the control connection's TLS session"
	if !e.Offered {
		what = "keepftp had no control-connection TLS session to resume (the server sent no session ticket)"
	}
	return fmt.Sprintf("the server refused the data connection's TLS handshake (%s; servers that require session reuse refuse any other): %v", what, e.Err)
}

func (e *DataTLSError) Unwrap() error { return e.Err }

// ExplainTLSRefusal adds to a failed transfer's error what its data
// connection's TLS says, when it did not resume the control connection's
// session: servers that require session reuse then drop the data
// connection (vsftpd's require_ssl_reuse: "522 SSL connection failed:
// session reuse required"; proftpd's mod_tls: "425 Unable to build data
// connection: Operation not permitted"). Other errors, and transfers whose
// data connection resumed, are returned unchanged.
func ExplainTLSRefusal(t *Transfer, err error) error {
	d, ok := t.Data.(*tlsData)
	if err == nil || !ok || d.resumed {
		return err
	}
	why := "keepftp offered the control connection's session and the server did not resume it"
	switch {
	case d.ticketsOff:
		why = "session tickets are disabled in keepftp's TLS config"
	case !d.offered:
		why = "the server gave the control connection no session ticket to offer (Go's TLS client resumes only with tickets)"
	}
	return fmt.Errorf("%w (the data connection did not resume the control connection's TLS session: %s; servers that require session reuse refuse such data connections)", err, why)
}

// isCertError reports a failed verification of the server's certificate
// (or its pin).
func isCertError(err error) bool {
	var cve *tls.CertificateVerificationError
	var ce *CertError
	return errors.As(err, &cve) || errors.As(err, &ce) || errors.Is(err, ErrPinMismatch)
}

// TLSState returns the control connection's TLS state; ok is false on a
// plain connection.
func (c *Conn) TLSState() (st tls.ConnectionState, ok bool) {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return st, false
	}
	return tc.ConnectionState(), true
}
