package keepftp

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/noproxy"
)

// ProxyOptions say which proxy each server is reached through, the way
// curl decides it, so that one environment means the same to both:
//
//   - URL, if set, is the proxy for every server (curl's --proxy).
//   - Otherwise, with Environment, the proxy is the first set of
//     ftp_proxy, FTP_PROXY (ftps_proxy, FTPS_PROXY for ftps:// URLs),
//     all_proxy and ALL_PROXY.
//   - A server in NoProxy (curl's --noproxy), or, when NoProxy is "" and
//     Environment is set, in no_proxy or NO_PROXY, is reached directly;
//     "*" means every server.
//
// A proxy is socks5:// (the server's name resolved here), socks5h:// (by
// the proxy) or http:// (CONNECT), with an optional user:password@
// (percent-encoded) and port (default 1080); without a scheme it is an
// HTTP proxy. keepftp always tunnels: where curl would send an ftp://
// URL to an HTTP proxy as an HTTP GET, keepftp asks it to CONNECT, because
// keepftp needs the FTP conversation itself (REST, NOOP, SIZE). A proxy
// that refuses CONNECT to FTP ports says so (403), and the error names
// the variable the proxy came from.
//
// Every connection goes through the proxy: the control connection and
// every data connection (passive mode). Active mode cannot (the server
// would connect back past the proxy) and is refused (ErrProxyActive).
// FTPS runs inside the tunnel, and the certificate is checked against
// the FTP server's name, not the proxy's. The proxy's password never
// appears in a message, log or event.
type ProxyOptions struct {
	URL         string
	NoProxy     string
	Environment bool
	// Getenv, if set, is where Environment reads the variables instead of
	// os.Getenv: a program running several commands in one process (the
	// command line's tests) gives each its own environment.
	Getenv func(key string) string
}

// IsZero reports whether the options never name a proxy.
func (o ProxyOptions) IsZero() bool { return o.URL == "" && !o.Environment }

// For returns the proxy for t's server, or nil to connect directly. An
// error wraps ErrBadProxy, names the variable the URL came from, and
// never shows the password.
func (o ProxyOptions) For(t Target) (*Proxy, error) {
	raw, from := o.URL, ""
	if raw == "" && o.Environment {
		raw, from = o.proxyFromEnv(t.TLSMode)
	}
	if raw == "" {
		return nil, nil
	}
	list := o.NoProxy
	if list == "" && o.Environment {
		list = o.firstEnv("no_proxy", "NO_PROXY")
	}
	if host, _, err := net.SplitHostPort(t.Addr); err == nil && noproxy.Match(list, host) {
		return nil, nil
	}
	p, err := control.ParseProxy(raw)
	if err != nil {
		if from != "" {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		return nil, err
	}
	p.From = from
	return p, nil
}

// check parses URL once, for a clear error before anything is tried.
func (o ProxyOptions) check() error {
	if o.URL == "" {
		return nil
	}
	_, err := control.ParseProxy(o.URL)
	return err
}

// proxyFromEnv returns the proxy the environment names for a scheme, and
// the variable that named it, in curl's order: the scheme's own variable
// (lower case first), then all_proxy and ALL_PROXY. A variable set to ""
// counts as unset, as in curl.
func (o ProxyOptions) proxyFromEnv(mode TLSMode) (value, name string) {
	scheme := "ftp" // ftp:// and ftpes:// (curl's ftp:// with --ssl-reqd)
	if mode == TLSImplicit {
		scheme = "ftps"
	}
	names := []string{scheme + "_proxy", strings.ToUpper(scheme) + "_PROXY", "all_proxy", "ALL_PROXY"}
	for _, n := range names {
		if v := o.getenv(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

func (o ProxyOptions) firstEnv(names ...string) string {
	for _, n := range names {
		if v := o.getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func (o ProxyOptions) getenv(key string) string {
	if o.Getenv != nil {
		return o.Getenv(key)
	}
	return os.Getenv(key)
}
