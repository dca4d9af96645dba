package interop

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/resume"
)

// proxyDialer reaches the proxy for keepftp and records every connection
// keepftp opens: all of them must go to the proxy, and the bytes read
// through them are counted.
type proxyDialer struct {
	proxy string
	mu    sync.Mutex
	addrs []string
	bytes atomic.Int64
}

func (d *proxyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, n: &d.bytes}, nil
}

// check fails unless every connection went to the proxy, a control and
// at least one data connection.
func (d *proxyDialer) check(t *testing.T) int {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.addrs {
		if a != d.proxy {
			t.Errorf("keepftp connected to %s, not through the proxy %s", a, d.proxy)
		}
	}
	if len(d.addrs) < 2 {
		t.Errorf("%d connections through the proxy, want a control and a data connection", len(d.addrs))
	}
	return len(d.addrs)
}

type countedConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func scViaSOCKS5(t *testing.T, name string) (int64, string) {
	return viaProxy(t, name, realserver.Dante)
}

func scViaCONNECT(t *testing.T, name string) (int64, string) {
	return viaProxy(t, name, realserver.Tinyproxy)
}

// viaProxy gets a small file through a real proxy that demands a login:
// every connection, control and data (and TLS inside them on the FTPS
// endpoints, the certificate checked against the server's name), goes
// through it, and the file's sha256 is right.
func viaProxy(t *testing.T, name string, kind realserver.ProxyKind) (int64, string) {
	s := startServer(t, name, false, 0)
	px := realserver.StartProxy(t, kind, realserver.ProxyOptions{Login: true})
	data := ftptest.RandomBytes(256 << 10)
	if err := s.write("/via.bin", data); err != nil {
		t.Fatal(err)
	}
	proxy, err := control.ParseProxy(px.URL())
	if err != nil {
		t.Fatal(err)
	}
	d := &proxyDialer{proxy: px.Addr}
	o := s.opts()
	o.DialContext = d.DialContext
	o.Proxy = func(resume.Target) (*control.Proxy, error) { return proxy, nil }
	dst := filepath.Join(t.TempDir(), "via.bin")
	if _, err := resume.Get(t.Context(), target(t, s.url(s.addr, "/via.bin")), dst, o); err != nil {
		t.Fatalf("%v\n%s", err, px.Logs())
	}
	checkSHA(t, readLocal(t, dst), data)
	return d.bytes.Load(), fmt.Sprintf("%d tunnels", d.check(t))
}

// A download longer than the real proxies' idle timers (dante's
// timeout.io, tinyproxy's Timeout: 2 s) from a real server: the NOOPs
// keep the control tunnel alive, so the transfer ends in one attempt with
// its 226. Without NOOPs the proxy closes the control tunnel mid-transfer
// (the test can tell).
func TestProxyIdleTunnel(t *testing.T) {
	for _, kind := range realserver.ProxyKinds {
		for _, keepalive := range []bool{true, false} {
			name := string(kind)
			if !keepalive {
				name += " without NOOPs"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := startServer(t, string(realserver.PureFTPd), false, 0)
				px := realserver.StartProxy(t, kind, realserver.ProxyOptions{IdleTimeout: 2 * time.Second})
				data := ftptest.RandomBytes(5 << 20) // 5 s at 1 MiB/s
				if err := s.write("/long.bin", data); err != nil {
					t.Fatal(err)
				}
				proxy, err := control.ParseProxy(px.URL())
				if err != nil {
					t.Fatal(err)
				}
				o := s.opts()
				o.RateLimit = 1 << 20
				o.Keepalive = 500 * time.Millisecond
				o.Proxy = func(resume.Target) (*control.Proxy, error) { return proxy, nil }
				var lost atomic.Bool
				o.Events = func(e resume.Event) {
					if e.Kind == resume.EventRetry || e.Kind == resume.EventRestart {
						lost.Store(true)
					}
				}
				if !keepalive {
					o.Keepalive, o.NoKeepalive = 0, true
					o.Policy = resume.Policy{Retries: 0, MaxAttempts: 1}
				}
				dst := filepath.Join(t.TempDir(), "long.bin")
				start := time.Now()
				out, err := resume.Get(t.Context(), target(t, s.url(s.addr, "/long.bin")), dst, o)
				took := time.Since(start)
				if !keepalive {
					if err == nil && out.Attempts == 1 && !lost.Load() {
						t.Fatalf("without NOOPs the transfer still ended cleanly through %s in %v: its idle timer did not close the control tunnel, so the test cannot tell", kind, took)
					}
					t.Logf("without NOOPs: %v (%d attempts) after %v", err, out.Attempts, took.Round(100*time.Millisecond))
					return
				}
				if err != nil {
					t.Fatalf("%v\n%s", err, px.Logs())
				}
				checkSHA(t, readLocal(t, dst), data)
				if out.Attempts != 1 || lost.Load() {
					t.Errorf("%d attempts (retry or restart seen: %v), want 1: the control tunnel did not survive", out.Attempts, lost.Load())
				}
				if took < 4*time.Second {
					t.Errorf("took %v: not long enough to outlast the proxy's 2 s idle timer", took)
				}
				t.Logf("%s: %v, %d attempt(s), %s", kind, took.Round(100*time.Millisecond), out.Attempts, out.Verified)
			})
		}
	}
}
