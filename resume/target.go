package resume

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/keepftp/keepftp/control"
)

// Target is a remote file: where the server is, how to log in, and the path.
type Target struct {
	Addr     string // host:port
	User     string // "" for anonymous
	Password string
	Path     string
	TLSMode  control.TLSMode
}

// ErrBadURL reports a URL keepftp cannot use.
var ErrBadURL = errors.New("bad URL")

// ParseURL parses ftp://[user[:pass]@]host[:port]/path. ftps:// is implicit
// TLS (port 990); ftpes:// is explicit TLS (AUTH TLS on port 21).
//
// Everything a URL can hold is checked before any connection is made: the
// port is 1-65535, and no decoded part (host, user, password, path) holds a
// CR, LF or NUL, which would end an FTP command and start another
// (%0D%0ADELE%20x). Errors name the part but never show its value.
func ParseURL(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, password included: say only what is wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Target{}, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	var t Target
	port := "21"
	switch strings.ToLower(u.Scheme) {
	case "ftp":
	case "ftps":
		t.TLSMode, port = control.TLSImplicit, "990"
	case "ftpes":
		t.TLSMode = control.TLSExplicit
	default:
		return Target{}, fmt.Errorf("%w: scheme %q (want ftp, ftps or ftpes)", ErrBadURL, u.Scheme)
	}
	if u.Hostname() == "" {
		return Target{}, fmt.Errorf("%w: no host", ErrBadURL)
	}
	if u.Port() != "" {
		port = u.Port()
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("%w: port %s (want 1-65535)", ErrBadURL, port)
		}
	}
	t.Addr = net.JoinHostPort(u.Hostname(), port)
	if _, _, err := net.SplitHostPort(t.Addr); err != nil || strings.ContainsAny(u.Hostname(), "[]/ ") {
		return Target{}, fmt.Errorf("%w: host %q", ErrBadURL, u.Hostname())
	}
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	t.Path = u.Path
	if t.Path == "" {
		t.Path = "/"
	}
	for _, f := range []struct{ what, v string }{
		{"host", u.Hostname()}, {"user name", t.User}, {"password", t.Password}, {"path", t.Path},
	} {
		if hasLineBreak(f.v) {
			return Target{}, fmt.Errorf("%w: the %s holds a CR, LF or NUL (%%0D, %%0A, %%00), which would end the FTP command", ErrBadURL, f.what)
		}
	}
	return t, nil
}

// hasLineBreak reports whether s holds a CR, LF or NUL: a character that
// must never reach an FTP command line.
func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }

// String shows the target as a URL without the password.
func (t Target) String() string {
	scheme := "ftp"
	switch t.TLSMode {
	case control.TLSImplicit:
		scheme = "ftps"
	case control.TLSExplicit:
		scheme = "ftpes"
	}
	user := ""
	if t.User != "" {
		user = url.User(t.User).String() + "@"
	}
	return scheme + "://" + user + t.Addr + t.Path
}
