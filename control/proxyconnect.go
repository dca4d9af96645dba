package control

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// maxConnectAnswer bounds the proxy's answer to CONNECT: status line and
// headers. A proxy that sends more is not one keepftp can use.
const maxConnectAnswer = 16 << 10

// errConnectAnswerTooLong ends the read of an overlong answer.
var errConnectAnswerTooLong = fmt.Errorf("the proxy's answer to CONNECT is longer than %d KiB", maxConnectAnswer>>10)

// dialCONNECT opens a tunnel to addr with an HTTP proxy's CONNECT method.
// x/net/proxy has no CONNECT, and net/http's Transport makes no raw
// tunnels, hence this: one request, one answer read with net/http's own
// parser, everything bounded by ctx and maxConnectAnswer. A 2xx opens the
// tunnel; anything else is refused with the status, escaped.
//
// The answer is read a byte at a time: the FTP server's greeting (or a
// download's first bytes) may follow the proxy's answer in the same
// packet, and a read-ahead buffer would swallow them. The answer is a few
// dozen bytes, and the connection returned stays the bare socket.
func (p *Proxy) dialCONNECT(ctx context.Context, forward dialFunc, addr string) (net.Conn, error) {
	if strings.ContainsFunc(addr, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		pe := p.fail(escapeText(addr), "the address holds spaces or control characters", nil)
		pe.Permanent = true
		return nil, pe
	}
	nc, err := forward(ctx, "tcp", p.Addr)
	if err != nil {
		if err := p.endedErr(ctx, addr, err); err != nil {
			return nil, err
		}
		return nil, p.fail(addr, "cannot reach the proxy", err)
	}
	ok := false
	defer func() {
		if !ok {
			nc.Close()
		}
	}()
	if dl, has := ctx.Deadline(); has {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if p.User != "" {
		req += "Proxy-Authorization: Basic " + p.basicToken() + "\r\n"
	}
	req += "User-Agent: keepftp\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		if err := p.endedErr(ctx, addr, err); err != nil {
			return nil, err
		}
		return nil, p.fail(addr, "writing CONNECT", err)
	}
	br := bufio.NewReaderSize(&byteReader{r: nc, left: maxConnectAnswer}, 64)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, p.connectReadError(ctx, addr, err)
	}
	if err := p.connectStatus(addr, resp); err != nil {
		return nil, err
	}
	if !stop() { // ctx ended meanwhile: the deadline is in the past
		return nil, p.endedErr(ctx, addr, nil)
	}
	nc.SetDeadline(time.Time{})
	ok = true
	if n := br.Buffered(); n > 0 { // not with byteReader; kept should that change
		rest, _ := br.Peek(n)
		return &prefixConn{Conn: nc, rest: append([]byte(nil), rest...)}, nil
	}
	return nc, nil
}

// connectReadError explains why no answer to CONNECT could be read.
func (p *Proxy) connectReadError(ctx context.Context, addr string, err error) error {
	if err := p.endedErr(ctx, addr, err); err != nil {
		return err
	}
	switch {
	case errors.Is(err, errConnectAnswerTooLong):
		pe := p.fail(addr, errConnectAnswerTooLong.Error(), nil)
		pe.Permanent = true
		return pe
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return p.fail(addr, "the proxy closed the connection without answering CONNECT", nil)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return p.fail(addr, "reading the answer to CONNECT", err)
	}
	// A parse error quotes what the proxy sent: escape it, keep no
	// error that would show it raw.
	pe := p.fail(addr, "the proxy's answer is not HTTP: "+escapeText(p.mask(err.Error())), nil)
	pe.Permanent = true
	return pe
}

// connectStatus refuses an answer other than 2xx: 407 (and 401) is the
// proxy's login, 5xx (and 408, 429) its failure to reach the server or a passing
// state, other codes a refusal that asking again would not change.
func (p *Proxy) connectStatus(addr string, resp *http.Response) error {
	code := resp.StatusCode
	if code/100 == 2 {
		return nil
	}
	status := escapeText(p.mask(resp.Status))
	pe := p.fail(addr, "the proxy answered "+status, nil)
	switch {
	case code == http.StatusProxyAuthRequired, code == http.StatusUnauthorized: // tinyproxy answers a wrong login 401
		pe.Auth = true
		if p.User == "" {
			pe.Reason += " (it wants a user name and password: http://user:password@host:port)"
		} else {
			pe.Reason += " (it refused the user name and password)"
		}
	case code/100 == 5, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
	default:
		pe.Permanent = true
	}
	return pe
}

// basicToken is the Proxy-Authorization credentials (RFC 7617).
func (p *Proxy) basicToken() string {
	return base64.StdEncoding.EncodeToString([]byte(p.User + ":" + p.Password))
}

// byteReader reads one byte per Read, at most left bytes in all.
type byteReader struct {
	r    io.Reader
	left int
}

func (b *byteReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errConnectAnswerTooLong
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.r.Read(p[:1])
	b.left -= n
	return n, err
}

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	rest []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
