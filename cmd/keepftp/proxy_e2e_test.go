package main

import (
	"bytes"
	"crypto/sha256"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/proxytest"
	"github.com/keepftp/keepftp/testserver"
)

const proxyPass = "Px-S3cret-7q"

// proxyEnv clears every proxy variable, then sets kv ("NAME=value").
func proxyEnv(kv ...string) []string {
	var env []string
	for _, v := range []string{"ftp_proxy", "FTP_PROXY", "ftps_proxy", "FTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"} {
		env = append(env, v+"=")
	}
	return append(env, kv...)
}

// noSecret fails the test if the proxy password shows in an output.
func noSecret(t *testing.T, args []string, outs ...string) {
	t.Helper()
	for _, o := range outs {
		if strings.Contains(o, proxyPass) || strings.Contains(o, "Px-S3cret") {
			t.Errorf("keepftp %v shows the proxy password:\n%s", args, o)
		}
	}
}

// get, put, ls, mirror and doctor with --proxy: every connection goes
// through the proxy (SOCKS5 with a login, and CONNECT), to a server name
// only the proxy can resolve; files arrive whole; the password shows
// nowhere, not in -v's protocol log, not in --json.
func TestProxyFlag(t *testing.T) {
	srv := ftptest.StartServer(t, testserver.Options{})
	data := ftptest.RandomBytes(1 << 20)
	srv.WriteFile("/d/f.bin", data)
	srv.WriteFile("/d/g.bin", ftptest.RandomBytes(1000))
	_, port, _ := net.SplitHostPort(srv.Addr())
	const name = "ftp.proxytest.invalid"
	base := "ftp://" + net.JoinHostPort(name, port)
	hosts := map[string]string{name: "127.0.0.1"}
	for _, kind := range []proxytest.Kind{proxytest.SOCKS5, proxytest.CONNECT} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			px := proxytest.Start(t, proxytest.Options{Kind: kind, User: "u", Password: proxyPass, Hosts: hosts})
			dir := t.TempDir()
			got := filepath.Join(dir, "f.bin")
			proxy := px.URL("u", proxyPass)
			for _, args := range [][]string{
				{"get", "-v", "--proxy", proxy, "-o", got, base + "/d/f.bin"},
				// Outside /d: the other kind's mirror of /d runs at once,
				// and an upload's temporary there came and went under it.
				{"put", "-v", "--proxy", proxy, got, base + "/up-" + kind.String() + ".bin"},
				{"ls", "-v", "--proxy", proxy, base + "/d/"},
				{"mirror", "--json", "--proxy", proxy, base + "/d/", filepath.Join(dir, "m")},
				{"doctor", "-v", "--timeout", "5s", "--proxy", proxy, base + "/d/g.bin"},
			} {
				before := len(px.Tunnels())
				code, stdout, stderr := runKeepftp(t, proxyEnv(), args...)
				if code != ExitOK {
					t.Fatalf("keepftp %v: exit %d\n%s", args, code, stderr)
				}
				noSecret(t, args, stdout, stderr)
				if len(px.Tunnels()) < before+2 {
					t.Errorf("keepftp %v: %d tunnels through the proxy, want a control and a data connection at least", args[0], len(px.Tunnels())-before)
				}
				if args[1] == "-v" && !strings.Contains(stderr, "through proxy "+strings.Replace(proxy, proxyPass, "***", 1)) {
					t.Errorf("keepftp %v: the protocol log does not name the proxy (password masked):\n%s", args, stderr)
				}
			}
			for _, f := range []string{got, filepath.Join(dir, "m", "f.bin")} {
				if b, _ := os.ReadFile(f); sha256.Sum256(b) != sha256.Sum256(data) {
					t.Errorf("%s: %d bytes, sha256 differs", f, len(b))
				}
			}
			for i, tu := range px.Tunnels() {
				if h, _, _ := net.SplitHostPort(tu.Target); h != name {
					t.Errorf("tunnel %d went to %s, not to %s", i, tu.Target, name)
				}
			}
		})
	}
}

// The proxy variables, as curl reads them: ALL_PROXY is used, ftp_proxy
// before it, NO_PROXY and --noproxy bypass it, --proxy "" turns it off.
func TestProxyEnvironment(t *testing.T) {
	srv := ftptest.StartServer(t, testserver.Options{})
	data := ftptest.RandomBytes(64 << 10)
	srv.WriteFile("/f.bin", data)
	url := "ftp://" + srv.Addr() + "/f.bin"
	all := proxytest.Start(t, proxytest.Options{Kind: proxytest.SOCKS5})
	ftpPx := proxytest.Start(t, proxytest.Options{Kind: proxytest.CONNECT})
	for _, tc := range []struct {
		name    string
		env     []string
		flags   []string
		via     *proxytest.Proxy // nil: direct
		logSays string
	}{
		{"ALL_PROXY", []string{"ALL_PROXY=" + all.URL("", "")}, nil, all, "(from ALL_PROXY)"},
		{"all_proxy", []string{"all_proxy=" + all.URL("", "")}, nil, all, "(from all_proxy)"},
		{"ftp_proxy before ALL_PROXY", []string{"ALL_PROXY=" + all.URL("", ""), "ftp_proxy=" + ftpPx.URL("", "")}, nil, ftpPx, "(from ftp_proxy)"},
		{"NO_PROXY", []string{"ALL_PROXY=" + all.URL("", ""), "NO_PROXY=127.0.0.0/8"}, nil, nil, ""},
		{"no_proxy by name", []string{"ALL_PROXY=" + all.URL("", ""), "no_proxy=example.com,127.0.0.1"}, nil, nil, ""},
		{"--noproxy *", []string{"ALL_PROXY=" + all.URL("", "")}, []string{"--noproxy", "*"}, nil, ""},
		{"--noproxy over NO_PROXY", []string{"ALL_PROXY=" + all.URL("", ""), "NO_PROXY=127.0.0.1"}, []string{"--noproxy", "example.com"}, all, ""},
		{"--proxy \"\"", []string{"ALL_PROXY=" + all.URL("", "")}, []string{"--proxy", ""}, nil, ""},
		{"--noproxy \"\" over NO_PROXY", []string{"ALL_PROXY=" + all.URL("", ""), "NO_PROXY=127.0.0.1"}, []string{"--noproxy", ""}, all, ""},
		{"--proxy over ALL_PROXY", []string{"ALL_PROXY=" + all.URL("", "")}, []string{"--proxy", ftpPx.URL("", "")}, ftpPx, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "f.bin")
			counts := map[*proxytest.Proxy]int{all: len(all.Tunnels()), ftpPx: len(ftpPx.Tunnels())}
			args := append(append([]string{"get", "-v"}, tc.flags...), "-o", dst, url)
			code, _, stderr := runKeepftp(t, proxyEnv(tc.env...), args...)
			if code != ExitOK {
				t.Fatalf("keepftp %v: exit %d\n%s", args, code, stderr)
			}
			if b, _ := os.ReadFile(dst); !bytes.Equal(b, data) {
				t.Fatalf("%d bytes, want %d", len(b), len(data))
			}
			for px, before := range counts {
				used := len(px.Tunnels()) > before
				if used != (px == tc.via) {
					t.Errorf("proxy %s used: %v, want %v\n%s", px.Addr, used, px == tc.via, stderr)
				}
			}
			if !strings.Contains(stderr, tc.logSays) {
				t.Errorf("the log does not say %q:\n%s", tc.logSays, stderr)
			}
		})
	}
}

// Failures through a proxy: each exits with its class's code and a clear
// message, and no output shows the proxy password.
func TestProxyFailures(t *testing.T) {
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/f.bin", []byte("x"))
	url := "ftp://" + srv.Addr() + "/f.bin"
	socks := proxytest.Start(t, proxytest.Options{Kind: proxytest.SOCKS5, User: "u", Password: "other"})
	connect := proxytest.Start(t, proxytest.Options{Kind: proxytest.CONNECT, User: "u", Password: "other"})
	forbid := proxytest.Start(t, proxytest.Options{Kind: proxytest.CONNECT, Status: "403 Forbidden", Echo: true})
	// A proxy that is not there: port 1, where nothing listens (a port
	// from a closed listener could be any other test's server by then).
	goneURL := "socks5://u:" + proxyPass + "@127.0.0.1:1"
	dst := filepath.Join(t.TempDir(), "f.bin")
	local := filepath.Join(t.TempDir(), "up.bin")
	os.WriteFile(local, []byte("up"), 0o644)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		says string
	}{
		{"SOCKS5 wrong password", nil, []string{"get", "--proxy", socks.URL("u", proxyPass), "-o", dst, url}, ExitLogin, "refused the user name and password"},
		{"SOCKS5 wrong password --json", nil, []string{"get", "--json", "--proxy", socks.URL("u", proxyPass), "-o", dst, url}, ExitLogin, ""},
		{"CONNECT wrong password", nil, []string{"ls", "-v", "--proxy", connect.URL("u", proxyPass), "ftp://" + srv.Addr() + "/"}, ExitLogin, "407"},
		{"CONNECT no password", []string{"ALL_PROXY=" + connect.URL("", "")}, []string{"get", "-o", dst, url}, ExitLogin, "(from ALL_PROXY)"},
		{"CONNECT forbidden", nil, []string{"get", "--proxy", forbid.URL("u", proxyPass), "-o", dst, url}, ExitRefused, "the proxy answered 403 Forbidden"},
		{"proxy not there", nil, []string{"get", "--retries", "0", "--proxy", goneURL, "-o", dst, url}, ExitGaveUp, "cannot reach the proxy"},
		{"bad --proxy", nil, []string{"get", "--proxy", "socks4://u:" + proxyPass + "@h", "-o", dst, url}, ExitUsage, "--proxy: bad proxy URL: socks4:// proxies are not supported"},
		{"bad ALL_PROXY", []string{"ALL_PROXY=ftp://u:" + proxyPass + "@h"}, []string{"mirror", "ftp://" + srv.Addr() + "/", t.TempDir()}, ExitUsage, "ALL_PROXY: bad proxy URL"},
		{"--active --proxy", nil, []string{"put", "--active", "--proxy", socks.URL("u", proxyPass), local, url}, ExitUsage, "--active and --proxy do not go together"},
		{"--active with ALL_PROXY", []string{"ALL_PROXY=" + socks.URL("u", proxyPass)}, []string{"get", "--active", "-o", dst, url}, ExitUsage, "active mode cannot go through a proxy"},
		{"doctor wrong password", nil, []string{"doctor", "--timeout", "5s", "--proxy", socks.URL("u", proxyPass), url}, ExitLogin, "refused the user name and password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runKeepftp(t, proxyEnv(tc.env...), tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.says) {
				t.Errorf("stderr does not say %q:\n%s", tc.says, stderr)
			}
			noSecret(t, tc.args, stdout, stderr)
			t.Logf("%s", strings.TrimSpace(stderr))
		})
	}
}
