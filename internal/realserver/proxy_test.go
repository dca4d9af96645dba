package realserver

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"
)

// greeter accepts connections and greets each with a line, then echoes:
// a stand-in FTP server that shows whether a tunnel carries bytes both
// ways.
func greeter(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "220 greeter\r\n")
				io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

// tunnel opens a tunnel through p to target with the login given.
func tunnel(ctx context.Context, p *Proxy, user, pass, target string) (net.Conn, error) {
	if p.Kind == Dante {
		var auth *xproxy.Auth
		if user != "" {
			auth = &xproxy.Auth{User: user, Password: pass}
		}
		d, err := xproxy.SOCKS5("tcp", p.Addr, auth, &net.Dialer{})
		if err != nil {
			return nil, err
		}
		return d.(xproxy.ContextDialer).DialContext(ctx, "tcp", target)
	}
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return nil, err
	}
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if user != "" {
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)) + "\r\n"
	}
	io.WriteString(c, req+"\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReaderSize(c, 16)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != 200 {
		c.Close()
		return nil, errors.New(resp.Status)
	}
	c.SetReadDeadline(time.Time{})
	return &bufConn{c, br}, nil
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// The proxy runners: each proxy tunnels to any port (tinyproxy with no
// ConnectPort line), with and without a login, refuses a wrong one, and
// closes a tunnel idle past its timer, as the field's proxies do to an
// FTP control connection that says nothing during a long transfer.
func TestProxyRunners(t *testing.T) {
	target := greeter(t)
	for _, kind := range ProxyKinds {
		for _, login := range []bool{false, true} {
			name := string(kind)
			if login {
				name += " login"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				p := StartProxy(t, kind, ProxyOptions{Login: login, IdleTimeout: time.Second})
				if login && (p.User == "" || p.Password == "") {
					t.Fatal("no login made")
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				c, err := tunnel(ctx, p, p.User, p.Password, target)
				if err != nil {
					t.Fatalf("tunnel through %s: %v", p.URL(), err)
				}
				defer c.Close()
				br := bufio.NewReader(c)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "220 ") {
					t.Fatalf("greeting through the tunnel: %q, %v", line, err)
				}
				io.WriteString(c, "NOOP\r\n")
				if line, err := br.ReadString('\n'); err != nil || line != "NOOP\r\n" {
					t.Fatalf("echo through the tunnel: %q, %v", line, err)
				}
				// Silent now: the proxy closes the tunnel after its idle
				// timer (1 s); the read ends well before its own 10 s.
				start := time.Now()
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, err = br.ReadByte()
				var ne net.Error
				if err == nil || errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("an idle tunnel was not closed by the proxy: %v", err)
				}
				t.Logf("%s closed the idle tunnel after %v (%v)", kind, time.Since(start).Round(100*time.Millisecond), err)
				if login {
					if _, err := tunnel(ctx, p, p.User, "wrong-"+p.Password, target); err == nil {
						t.Fatal("a wrong password opened a tunnel")
					} else {
						t.Logf("wrong password: %v", err)
					}
				}
			})
		}
	}
}
