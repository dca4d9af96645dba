package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Proxy is a proxy that every connection of a session is tunnelled
// through: SOCKS5 (RFC 1928, with RFC 1929's user name and password), or
// an HTTP proxy's CONNECT method (RFC 9110, 9.3.6).
//
// The control connection and each passive data connection are opened
// through it, to the server's name and the port the server gave, so the
// proxy sees the same host for all of them. Active mode cannot work: the
// server would connect back past the proxy, so Dial refuses Config.Active
// with a Proxy (ErrProxyActive). FTPS runs inside the tunnel, end to end:
// the certificate is checked against the FTP server's name, never the
// proxy's, and the proxy sees only ciphertext.
type Proxy struct {
	// Scheme is "socks5" (the server's name is resolved here and the
	// proxy is given the address), "socks5h" (the proxy resolves the
	// name) or "http" (CONNECT; the proxy resolves the name).
	Scheme string
	// Addr is the proxy's host:port.
	Addr string
	// User and Password log in to the proxy when User is not "". The
	// password never appears in a message: String masks it, and text
	// from the proxy is masked too.
	User, Password string
	// From says where the proxy was configured ("ALL_PROXY"), for
	// messages; "" when it was given directly.
	From string
}

// ErrBadProxy reports a proxy URL keepftp cannot use. Its message never
// holds the password.
var ErrBadProxy = errors.New("bad proxy URL")

// ErrProxyActive reports Config.Active with a Config.Proxy: the server's
// connection back to us for data cannot go through the proxy.
var ErrProxyActive = errors.New("active mode cannot go through a proxy")

// DefaultProxyPort is the port of a proxy URL that names none (curl's).
const DefaultProxyPort = "1080"

// maxSOCKSField bounds a SOCKS5 user name and password (RFC 1929: one
// length byte each).
const maxSOCKSField = 255

// ParseProxy parses a proxy URL: socks5://, socks5h:// or http://, with
// an optional user:password@ (percent-encoded) and port (default 1080).
// Without a scheme the proxy is an HTTP one, as curl takes it. Errors wrap
// ErrBadProxy and never repeat the password.
func ParseProxy(raw string) (*Proxy, error) {
	bad := func(format string, args ...any) (*Proxy, error) {
		return nil, fmt.Errorf("%w: %s", ErrBadProxy, fmt.Sprintf(format, args...))
	}
	if raw == "" {
		return bad("empty")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return bad("it holds spaces or control characters")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	scheme, _, _ := strings.Cut(raw, "://")
	switch strings.ToLower(scheme) {
	case "socks5", "socks5h", "http":
	case "https", "socks4", "socks4a":
		return bad("%s:// proxies are not supported (use socks5://, socks5h:// or http://)", strings.ToLower(scheme))
	default:
		if isScheme(scheme) {
			return bad("scheme %q (want socks5://, socks5h:// or http://)", scheme)
		}
		return bad("not a URL of the form scheme://[user:password@]host[:port]")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, password included: say only what is wrong.
		return bad("not a URL of the form scheme://[user:password@]host[:port]")
	}
	p := &Proxy{Scheme: strings.ToLower(u.Scheme)}
	if u.User != nil {
		p.User = u.User.Username()
		p.Password, _ = u.User.Password()
		if p.User == "" {
			return bad("a password without a user name")
		}
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return bad("no host")
	}
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return bad("empty port")
		}
		port = DefaultProxyPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("port %q (want 1-65535)", port)
	}
	if strings.Contains(host, ":") {
		if _, err := netip.ParseAddr(host); err != nil {
			return bad("host %q is not an IPv6 address", host)
		}
	}
	p.Addr = net.JoinHostPort(host, port)
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return bad("%s has a path, query or fragment (a proxy URL has none)", p)
	}
	if strings.ContainsAny(p.User+p.Password, "\r\n\x00") {
		return bad("the user name or password holds CR, LF or NUL")
	}
	if p.Scheme != "http" && (len(p.User) > maxSOCKSField || len(p.Password) > maxSOCKSField) {
		return bad("a SOCKS5 user name and password are at most %d bytes each", maxSOCKSField)
	}
	return p, nil
}

func isScheme(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// String is the proxy's URL with the password masked, and where it came
// from: socks5h://user:***@127.0.0.1:1080 (from ALL_PROXY).
func (p *Proxy) String() string {
	var b strings.Builder
	b.WriteString(p.Scheme)
	b.WriteString("://")
	if p.User != "" {
		b.WriteString(url.User(p.User).String())
		if p.Password != "" {
			b.WriteString(":***")
		}
		b.WriteByte('@')
	}
	b.WriteString(p.Addr)
	if p.From != "" {
		b.WriteString(" (from ")
		b.WriteString(p.From)
		b.WriteByte(')')
	}
	return b.String()
}

// resolvesHere reports whether the server's name is resolved on this side
// (socks5://) rather than by the proxy.
func (p *Proxy) resolvesHere() bool { return p.Scheme == "socks5" }

// dialFunc dials a TCP connection (net.Dialer.DialContext's shape).
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// dial opens a tunnel through the proxy to addr (host:port), reaching the
// proxy with forward. ctx bounds all of it: the connection to the proxy,
// the greeting, the login and the proxy's own connection to addr.
func (p *Proxy) dial(ctx context.Context, forward dialFunc, addr string) (net.Conn, error) {
	if p.Scheme == "http" {
		return p.dialCONNECT(ctx, forward, addr)
	}
	return p.dialSOCKS(ctx, forward, addr)
}

// resolve turns the host of addr into an address when the name is
// resolved here (socks5://); otherwise it returns addr as it is. Each
// connection of a session is then tunnelled to the same address.
func (p *Proxy) resolve(ctx context.Context, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !p.resolvesHere() {
		return addr, err
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return addr, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return "", fmt.Errorf("resolving %s for %s: %w", host, p, err)
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("resolving %s for %s: no address", host, p)
	}
	return net.JoinHostPort(ips[0].Unmap().String(), port), nil
}

// ProxyError is a tunnel the proxy did not open: the proxy could not be
// reached, refused the login or the target, or could not reach the
// server itself. Auth and Permanent say whether trying again can help.
type ProxyError struct {
	Proxy  string // the proxy, password masked (Proxy.String)
	Target string // the host:port asked for
	Reason string // what went wrong: text from the proxy is escaped and its password masked
	// Auth: the proxy wants a user name and password, or refused the
	// ones given.
	Auth bool
	// Permanent: the proxy refuses this tunnel by rule (403, "not
	// allowed by ruleset", a protocol it does not speak); asking again
	// fails the same way.
	Permanent bool
	Err       error // the underlying error, if any
}

func (e *ProxyError) Error() string {
	s := fmt.Sprintf("proxy %s: tunnel to %s: %s", e.Proxy, e.Target, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ProxyError) Unwrap() error { return e.Err }

// fail makes the ProxyError for a tunnel to target; it masks the
// password in err's text (a proxy may echo what it was sent).
func (p *Proxy) fail(target, reason string, err error) *ProxyError {
	if err != nil {
		if text := err.Error(); p.mask(text) != text {
			err = maskedError{err, p.mask(text)}
		}
	}
	return &ProxyError{Proxy: p.String(), Target: target, Reason: reason, Err: err}
}

// mask replaces the password, and the HTTP credentials that carry it, in
// s, so that no text a proxy sends back can show them.
func (p *Proxy) mask(s string) string {
	if p.User != "" {
		s = strings.ReplaceAll(s, p.basicToken(), "***")
	}
	if p.Password != "" {
		s = strings.ReplaceAll(s, p.Password, "***")
	}
	return s
}

// maskedError shows a masked text but keeps the error for errors.Is/As.
type maskedError struct {
	err  error
	text string
}

func (m maskedError) Error() string { return m.text }
func (m maskedError) Unwrap() error { return m.err }

// escapeText makes text from a proxy safe for a message: control
// characters and invalid bytes become escapes, and it is shortened.
func escapeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return clip(b.String())
}
