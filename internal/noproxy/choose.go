package noproxy

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/keepftp/keepftp/control"
)

// Choose returns the proxy for the server at addr (host:port), or nil to
// connect directly:
//
//   - url, if set, is the proxy for every server (curl's --proxy).
//   - Otherwise, with getenv (the environment: os.Getenv, or a program's
//     own), the first set of ftp_proxy, FTP_PROXY (ftps_proxy, FTPS_PROXY
//     for implicit TLS), all_proxy and ALL_PROXY.
//   - A server in list (curl's --noproxy), or, when list is "" and getenv
//     is set, in no_proxy or NO_PROXY, is reached directly.
//
// An error wraps control.ErrBadProxy, names the variable the URL came
// from, and never shows the password.
func Choose(url, list string, getenv func(string) string, addr string, implicitTLS bool) (*control.Proxy, error) {
	raw, from := url, ""
	if raw == "" && getenv != nil {
		raw, from = fromEnv(getenv, implicitTLS)
	}
	if raw == "" {
		return nil, nil
	}
	if list == "" && getenv != nil {
		list = firstEnv(getenv, "no_proxy", "NO_PROXY")
	}
	if host, _, err := net.SplitHostPort(addr); err == nil && Match(list, host) {
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

// Env is the environment Choose reads: none without environment, else
// getenv, or os.Getenv when that is nil.
func Env(environment bool, getenv func(string) string) func(string) string {
	switch {
	case !environment:
		return nil
	case getenv != nil:
		return getenv
	}
	return os.Getenv
}

// fromEnv returns the proxy the environment names for a scheme, and the
// variable that named it, in curl's order: the scheme's own variable
// (lower case first), then all_proxy and ALL_PROXY. A variable set to ""
// counts as unset, as in curl.
func fromEnv(getenv func(string) string, implicitTLS bool) (value, name string) {
	scheme := "ftp" // ftp:// and ftpes:// (curl's ftp:// with --ssl-reqd)
	if implicitTLS {
		scheme = "ftps"
	}
	names := []string{scheme + "_proxy", strings.ToUpper(scheme) + "_PROXY", "all_proxy", "ALL_PROXY"}
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

func firstEnv(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}
