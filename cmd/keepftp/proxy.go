package main

import (
	"github.com/keepftp/keepftp"
	"github.com/urfave/cli/v2"
)

// proxyFlags are the flags of every command that connects to a server.
func proxyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "proxy", Usage: "tunnel every connection through this proxy: socks5://[user:pass@]host[:port] (socks5h:// has the proxy resolve the server's name) or http://[user:pass@]host[:port] (HTTP CONNECT); port 1080 if none. Default: ftp_proxy, all_proxy (ftps_proxy for ftps://) or their upper-case forms, as curl reads them; \"\" for none"},
		&cli.StringFlag{Name: "noproxy", Usage: "hosts reached directly, not through the proxy: comma-separated names (with their subdomains), addresses and CIDR ranges; \"*\" for all (the proxy variables are ignored). Default: no_proxy or NO_PROXY"},
	}
}

// proxyOptions turns --proxy and --noproxy into the Client's proxy
// choice, as curl makes it: --proxy overrides the proxy variables and
// --proxy "" turns them off; --noproxy overrides NO_PROXY. A --proxy that
// cannot be used, or with --active, is a usage error.
func proxyOptions(c *cli.Context) (keepftp.ProxyOptions, error) {
	env := envOf(c)
	o := keepftp.ProxyOptions{URL: c.String("proxy"), NoProxy: c.String("noproxy"), Environment: true,
		Getenv: func(k string) string { v, _ := env(k); return v }}
	if c.IsSet("proxy") && o.URL == "" {
		return keepftp.ProxyOptions{}, nil
	}
	if c.IsSet("noproxy") && o.NoProxy == "" {
		o.NoProxy = "," // an empty list, and not NO_PROXY's (curl's --noproxy "")
	}
	if o.URL != "" {
		if err := o.Check(); err != nil {
			return o, usageError{"--proxy: " + err.Error()}
		}
		if c.Bool("active") {
			return o, usageError{"--active and --proxy do not go together: in active mode the server connects back to this machine, past the proxy; leave out --active (passive mode goes through the proxy)"}
		}
	}
	return o, nil
}
