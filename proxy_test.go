package keepftp

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/proxytest"
	"github.com/keepftp/keepftp/testserver"
)

// proxyVars are every variable ProxyOptions reads.
var proxyVars = []string{"ftp_proxy", "FTP_PROXY", "ftps_proxy", "FTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"}

// The proxy a server is reached through, as curl chooses it (t.Setenv:
// not parallel).
func TestProxyOptionsFor(t *testing.T) {
	ftp := Target{Addr: "ftp.example.com:21"}
	ftps := Target{Addr: "ftp.example.com:990", TLSMode: TLSImplicit}
	ftpes := Target{Addr: "ftp.example.com:21", TLSMode: TLSExplicit}
	local := Target{Addr: "10.1.2.3:21"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		o    ProxyOptions
		t    Target
		want string // Proxy.String(), "" for direct
	}{
		{"nothing", nil, ProxyOptions{Environment: true}, ftp, ""},
		{"URL", nil, ProxyOptions{URL: "socks5h://u:pw@px:1"}, ftp, "socks5h://u:***@px:1"},
		{"URL over the environment", map[string]string{"ALL_PROXY": "http://env:1"}, ProxyOptions{URL: "socks5://px:1", Environment: true}, ftp, "socks5://px:1"},
		{"the environment only when asked", map[string]string{"ALL_PROXY": "http://env:1"}, ProxyOptions{}, ftp, ""},
		{"all_proxy", map[string]string{"all_proxy": "http://lower:1", "ALL_PROXY": "http://upper:1"}, ProxyOptions{Environment: true}, ftp, "http://lower:1 (from all_proxy)"},
		{"ALL_PROXY", map[string]string{"ALL_PROXY": "socks5h://upper"}, ProxyOptions{Environment: true}, ftp, "socks5h://upper:1080 (from ALL_PROXY)"},
		{"ftp_proxy first", map[string]string{"ftp_proxy": "http://ftp:1", "all_proxy": "http://all:1"}, ProxyOptions{Environment: true}, ftp, "http://ftp:1 (from ftp_proxy)"},
		{"FTP_PROXY", map[string]string{"FTP_PROXY": "http://ftp:1", "all_proxy": "http://all:1"}, ProxyOptions{Environment: true}, ftp, "http://ftp:1 (from FTP_PROXY)"},
		{"ftpes is ftp", map[string]string{"ftp_proxy": "http://ftp:1", "ftps_proxy": "http://ftps:1"}, ProxyOptions{Environment: true}, ftpes, "http://ftp:1 (from ftp_proxy)"},
		{"ftps_proxy for ftps", map[string]string{"ftp_proxy": "http://ftp:1", "ftps_proxy": "http://ftps:1"}, ProxyOptions{Environment: true}, ftps, "http://ftps:1 (from ftps_proxy)"},
		{"empty is unset", map[string]string{"ftp_proxy": "", "ALL_PROXY": "http://all:1"}, ProxyOptions{Environment: true}, ftp, "http://all:1 (from ALL_PROXY)"},
		{"NO_PROXY", map[string]string{"ALL_PROXY": "http://all:1", "NO_PROXY": "example.com"}, ProxyOptions{Environment: true}, ftp, ""},
		{"no_proxy before NO_PROXY", map[string]string{"ALL_PROXY": "http://all:1", "no_proxy": "other.org", "NO_PROXY": "example.com"}, ProxyOptions{Environment: true}, ftp, "http://all:1 (from ALL_PROXY)"},
		{"NO_PROXY applies to URL too", map[string]string{"NO_PROXY": ".example.com"}, ProxyOptions{URL: "http://px:1", Environment: true}, ftp, ""},
		{"NO_PROXY CIDR", map[string]string{"ALL_PROXY": "http://all:1", "NO_PROXY": "10.0.0.0/8"}, ProxyOptions{Environment: true}, local, ""},
		{"NoProxy over NO_PROXY", map[string]string{"ALL_PROXY": "http://all:1", "NO_PROXY": "example.com"}, ProxyOptions{NoProxy: "other.org", Environment: true}, ftp, "http://all:1 (from ALL_PROXY)"},
		{"NoProxy *", map[string]string{"ALL_PROXY": "http://all:1"}, ProxyOptions{NoProxy: "*", Environment: true}, ftp, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range proxyVars {
				t.Setenv(v, tc.env[v])
			}
			p, err := tc.o.choose(tc.t.lower())
			if err != nil {
				t.Fatalf("For: %v", err)
			}
			got := ""
			if p != nil {
				got = p.String()
			}
			if got != tc.want {
				t.Errorf("For(%s) = %q, want %q", tc.t.Addr, got, tc.want)
			}
		})
		// The same from the program's own environment (Getenv): the
		// process's variables, all naming a decoy, are not read.
		t.Run("Getenv/"+tc.name, func(t *testing.T) {
			for _, v := range proxyVars {
				t.Setenv(v, "http://decoy:9")
			}
			o := tc.o
			o.Getenv = func(k string) string { return tc.env[k] }
			p, err := o.choose(tc.t.lower())
			if err != nil {
				t.Fatalf("For: %v", err)
			}
			got := ""
			if p != nil {
				got = p.String()
			}
			if got != tc.want {
				t.Errorf("For(%s) = %q, want %q", tc.t.Addr, got, tc.want)
			}
		})
	}
	t.Run("bad variable", func(t *testing.T) {
		for _, v := range proxyVars {
			t.Setenv(v, "")
		}
		t.Setenv("ALL_PROXY", "socks4://u:S3cretPW@px")
		_, err := ProxyOptions{Environment: true}.choose(ftp.lower())
		if !errors.Is(err, ErrBadProxy) || Classify(err) != BadURL {
			t.Fatalf("For: %v (class %v); want ErrBadProxy, BadURL", err, Classify(err))
		}
		if !strings.Contains(err.Error(), "ALL_PROXY") || strings.Contains(err.Error(), "S3cretPW") {
			t.Errorf("error %q: want it to name ALL_PROXY and not show the password", err)
		}
	})
}

// What a proxy's failure means for a program and for the retry loop.
func TestProxyErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want ErrorClass
	}{
		{&control.ProxyError{Auth: true}, LoginFailed},
		{&control.ProxyError{Permanent: true}, Permanent},
		{&control.ProxyError{Err: control.ErrPeerDown}, Transient},
		{&control.ProxyError{}, Transient},
		{control.ErrBadProxy, BadURL},
		{control.ErrProxyActive, BadURL},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%#v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// Proxies close idle tunnels, the control connection's too. A download
// longer than the proxy's idle timer keeps the control tunnel alive with
// its NOOPs: one attempt, no tunnel closed by the timer. Without NOOPs the
// same download loses its control tunnel (so the test can fail).
func TestProxyKeepsIdleControlTunnel(t *testing.T) {
	const idle = time.Second
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 1 << 20}})
	payload := ftptest.RandomBytes(3 << 20) // 3 s at 1 MiB/s: three idle timeouts
	if err := srv.WriteFile("/big.bin", payload); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(srv.Addr())
	url := "ftp://" + net.JoinHostPort("ftp.proxytest.invalid", port) + "/big.bin"
	for _, tc := range []struct {
		name      string
		kind      proxytest.Kind
		keepalive bool
	}{
		{"SOCKS5", proxytest.SOCKS5, true},
		{"CONNECT", proxytest.CONNECT, true},
		{"SOCKS5 without NOOPs", proxytest.SOCKS5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			px := proxytest.Start(t, proxytest.Options{Kind: tc.kind, IdleTimeout: idle, User: "u", Password: "S3cretPW",
				Hosts: map[string]string{"ftp.proxytest.invalid": "127.0.0.1"}})
			var logs strings.Builder
			o := Options{Timeout: 4 * time.Second, Keepalive: 250 * time.Millisecond, NoProfile: true, Proxy: ProxyOptions{URL: px.URL("u", "S3cretPW")},
				Logf: func(f string, a ...any) { logs.WriteString(strings.TrimSpace(fmt.Sprintf(f, a...)) + "\n") }}
			if !tc.keepalive {
				o.Keepalive, o.NoKeepalive = 0, true
				o.Timeout, o.Retry = 2*time.Second, RetryPolicy{Retries: 0, MaxAttempts: 1}
			}
			c := NewClient(o)
			defer c.Close()
			dst := filepath.Join(t.TempDir(), "big.bin")
			out, err := c.Get(t.Context(), url, dst)
			tunnels := px.Tunnels()
			if len(tunnels) < 2 {
				t.Fatalf("the proxy opened %d tunnels: not through it", len(tunnels))
			}
			if !tc.keepalive {
				if !tunnels[0].IdleClosed {
					t.Fatalf("without NOOPs the control tunnel survived the idle timer (%v, %+v): the test cannot tell", err, tunnels)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get: %v\n%s", err, logs.String())
			}
			got, _ := os.ReadFile(dst)
			if sha256.Sum256(got) != sha256.Sum256(payload) {
				t.Fatalf("sha256 differs (%d bytes)", len(got))
			}
			if out.Attempts != 1 {
				t.Errorf("%d attempts, want 1", out.Attempts)
			}
			for i, tu := range tunnels {
				if tu.IdleClosed {
					t.Errorf("tunnel %d (%s) was closed by the proxy's idle timer", i, tu.Target)
				}
			}
			if strings.Contains(logs.String(), "S3cretPW") {
				t.Errorf("the log shows the proxy password:\n%s", logs.String())
			}
		})
	}
}
