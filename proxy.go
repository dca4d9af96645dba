package keepftp

import (
	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/noproxy"
	"github.com/keepftp/keepftp/resume"
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

// Check parses URL, for a clear error before anything is tried: it wraps
// ErrBadProxy and never shows the password. (A proxy the environment
// names is checked when a server is reached through it.)
func (o ProxyOptions) Check() error {
	if o.URL == "" {
		return nil
	}
	_, err := control.ParseProxy(o.URL)
	return err
}

// choose returns the proxy for t's server, or nil to connect directly.
func (o ProxyOptions) choose(t resume.Target) (*control.Proxy, error) {
	return noproxy.Choose(o.URL, o.NoProxy, noproxy.Env(o.Environment, o.Getenv), t.Addr, t.TLSMode == control.TLSImplicit)
}
