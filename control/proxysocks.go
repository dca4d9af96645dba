package control

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"

	xproxy "golang.org/x/net/proxy"
)

// dialSOCKS opens a SOCKS5 tunnel to addr with golang.org/x/net/proxy. Its
// handshake is bounded by ctx (deadline and cancellation). The connection
// returned is the socket to the proxy itself: x/net's wrapper adds only
// the proxy's bound address, and the bare socket keeps the kernel's
// zero-copy paths (splice, sendfile) for the data.
func (p *Proxy) dialSOCKS(ctx context.Context, forward dialFunc, addr string) (net.Conn, error) {
	var raw net.Conn
	var reachErr error
	fwd := contextDialer(func(ctx context.Context, network, a string) (net.Conn, error) {
		c, err := forward(ctx, network, a)
		raw, reachErr = c, err
		return c, err
	})
	var auth *xproxy.Auth
	if p.User != "" {
		auth = &xproxy.Auth{User: p.User, Password: p.Password}
	}
	d, err := xproxy.SOCKS5("tcp", p.Addr, auth, fwd)
	if err != nil {
		return nil, p.fail(addr, "SOCKS5 dialer", err)
	}
	if _, err := d.(xproxy.ContextDialer).DialContext(ctx, "tcp", addr); err != nil {
		if err := p.endedErr(ctx, addr, err); err != nil {
			return nil, err
		}
		if reachErr != nil {
			return nil, p.fail(addr, "cannot reach the proxy", reachErr)
		}
		return nil, p.socksError(addr, err)
	}
	return raw, nil
}

// contextDialer makes a func an x/net/proxy ContextDialer.
type contextDialer func(ctx context.Context, network, addr string) (net.Conn, error)

func (f contextDialer) Dial(network, addr string) (net.Conn, error) {
	return f(context.Background(), network, addr)
}

func (f contextDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// socksError sorts x/net/proxy's SOCKS5 errors, which are plain texts
// (pinned in go.mod; proxy_test.go checks each against a real exchange):
// the login refused, a target the proxy refuses by rule, and failures of
// the proxy's own connection to the server.
func (p *Proxy) socksError(addr string, err error) error {
	msg := err.Error()
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		msg = oe.Err.Error()
		err = oe.Err
	}
	pe := p.fail(addr, "", err)
	switch {
	case strings.Contains(msg, "no acceptable authentication methods"):
		pe.Auth = true
		if p.User == "" {
			pe.Reason, pe.Err = "the proxy wants a user name and password (socks5://user:password@host:port)", nil
		} else {
			pe.Reason, pe.Err = "the proxy accepts no user name and password", nil
		}
	case strings.Contains(msg, "username/password authentication failed"):
		pe.Auth = true
		pe.Reason, pe.Err = "the proxy refused the user name and password", nil
	case strings.HasPrefix(msg, "unknown error "):
		// The proxy's reply code (RFC 1928, 6), as x/net names it.
		reply := strings.TrimPrefix(msg, "unknown error ")
		pe.Reason, pe.Err = "the proxy answered: "+escapeText(reply), nil
		switch reply {
		case "connection not allowed by ruleset", "command not supported", "address type not supported":
			pe.Permanent = true
		}
	case strings.HasPrefix(msg, "unexpected protocol version"), strings.HasPrefix(msg, "unsupported authentication method"),
		strings.HasPrefix(msg, "invalid username/password"):
		pe.Permanent = true
		pe.Reason = "the proxy does not speak SOCKS5 as expected"
	default:
		pe.Reason = "SOCKS5 handshake"
	}
	return pe
}

// endedErr is the error of a tunnel whose time ran out, or nil: the
// caller's cancellation as it is, the end of the tunnel's own time (the
// dial's timeout, or the socket deadline set from it, whichever fired
// first) as ErrPeerDown: the proxy, or the server behind it, did not
// answer in time.
func (p *Proxy) endedErr(ctx context.Context, addr string, err error) error {
	switch {
	case ctx.Err() != nil && !errors.Is(context.Cause(ctx), errDialTimeout):
		return ctx.Err()
	case ctx.Err() != nil, errors.Is(err, os.ErrDeadlineExceeded):
		return p.fail(addr, "no answer in time", ErrPeerDown)
	}
	return nil
}
