package control

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseProxy(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Proxy  // zero: an error
		says string // what the error says
	}{
		{raw: "socks5://127.0.0.1:1080", want: Proxy{Scheme: "socks5", Addr: "127.0.0.1:1080"}},
		{raw: "SOCKS5H://proxy.example:9050", want: Proxy{Scheme: "socks5h", Addr: "proxy.example:9050"}},
		{raw: "socks5h://user:pa%3As%40s@proxy.example", want: Proxy{Scheme: "socks5h", Addr: "proxy.example:1080", User: "user", Password: "pa:s@s"}},
		{raw: "http://[::1]:3128/", want: Proxy{Scheme: "http", Addr: "[::1]:3128"}},
		{raw: "http://u@proxy", want: Proxy{Scheme: "http", Addr: "proxy:1080", User: "u"}},
		{raw: "proxy.example:3128", want: Proxy{Scheme: "http", Addr: "proxy.example:3128"}}, // curl: no scheme is HTTP
		{raw: "u:secret@proxy.example:3128", want: Proxy{Scheme: "http", Addr: "proxy.example:3128", User: "u", Password: "secret"}},
		{raw: "", says: "empty"},
		{raw: "https://proxy:443", says: "https:// proxies are not supported"},
		{raw: "socks4://proxy", says: "socks4:// proxies are not supported"},
		{raw: "ftp://proxy", says: `scheme "ftp"`},
		{raw: "socks5://u:secret@proxy:0", says: `port "0"`},
		{raw: "socks5://u:secret@proxy:99999", says: `port "99999"`},
		{raw: "socks5://u:secret@proxy:", says: "empty port"},
		{raw: "socks5://u:secret@:1080", says: "no host"},
		{raw: "socks5://:secret@proxy", says: "a password without a user name"},
		{raw: "http://u:secret@proxy/path", says: "http://u:***@proxy:1080 has a path"},
		{raw: "http://u:secret@proxy?x=1", says: "has a path, query or fragment"},
		{raw: "http://u:sec ret@proxy", says: "spaces or control characters"},
		{raw: "http://u:secret%0D%0A@proxy", says: "CR, LF or NUL"},
		{raw: "socks5://u:" + strings.Repeat("s", 256) + "@proxy", says: "at most 255 bytes"},
		{raw: "socks5://u:secret@[fe80::1%25eth0", says: "not a URL"},
		{raw: "u:secret@pr%oxy", says: "not a URL"},
	} {
		p, err := ParseProxy(tc.raw)
		if tc.says != "" {
			if err == nil {
				t.Errorf("ParseProxy(%q) = %+v, want an error saying %q", tc.raw, *p, tc.says)
				continue
			}
			if !errors.Is(err, ErrBadProxy) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("ParseProxy(%q): %v; want ErrBadProxy saying %q", tc.raw, err, tc.says)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sss") {
				t.Errorf("ParseProxy(%q): the error shows the password: %v", tc.raw, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseProxy(%q): %v", tc.raw, err)
			continue
		}
		if *p != tc.want {
			t.Errorf("ParseProxy(%q) = %+v, want %+v", tc.raw, *p, tc.want)
		}
		if p.Password != "" && strings.Contains(p.String(), p.Password) {
			t.Errorf("String() = %q shows the password", p.String())
		}
	}
}

// FuzzParseProxy: no input panics, errors wrap ErrBadProxy, and neither
// an error nor String ever shows the password of a proxy URL.
func FuzzParseProxy(f *testing.F) {
	f.Add("socks5h", "user", "S3cretPW", "host", ":1080")
	f.Add("http", "u", "pa%3Ass", "[::1]", ":3128")
	f.Add("socks5", "u", "S3cret PW", "h", ":0")
	f.Add("SOCKS5", "", "S3cretPW", "h", "")
	f.Fuzz(func(t *testing.T, scheme, user, secret, host, port string) {
		raw := scheme + "://" + user + ":" + secret + "@" + host + port
		// The same URL with another password of the same length: a
		// message may show the secret only where it shows this one's
		// text too (the secret then comes from elsewhere in the URL).
		filler := strings.Repeat("Z", len(secret))
		other := scheme + "://" + user + ":" + filler + "@" + host + port
		p, err := ParseProxy(raw)
		_, oerr := ParseProxy(other)
		if err != nil {
			if !errors.Is(err, ErrBadProxy) {
				t.Fatalf("ParseProxy(%q): %v is not ErrBadProxy", raw, err)
			}
			if len(secret) >= 4 && strings.Contains(err.Error(), secret) && (oerr == nil || !strings.Contains(oerr.Error(), secret)) {
				t.Fatalf("ParseProxy(%q): the error shows the password: %v", raw, err)
			}
			return
		}
		// String depends on the password only through the mask.
		masked := *p
		masked.Password = strings.Repeat("Z", len(p.Password))
		if p.String() != masked.String() {
			t.Fatalf("ParseProxy(%q).String() = %q depends on the password (%q with another)", raw, p.String(), masked.String())
		}
		if _, err := ParseProxy(p.Scheme + "://" + p.Addr); err != nil {
			t.Fatalf("ParseProxy(%q): its own address %q does not parse: %v", raw, p.Addr, err)
		}
	})
}

// socks5:// resolves the server's name here, once, and every connection
// of the session goes to that address; socks5h:// and http:// leave the
// name to the proxy.
func TestProxyResolve(t *testing.T) {
	for _, tc := range []struct{ raw, addr string }{
		{"socks5://p:1", "localhost:21"},
		{"socks5h://p:1", "localhost:21"},
		{"http://p:1", "localhost:21"},
		{"socks5://p:1", "192.0.2.7:21"},
	} {
		p, err := ParseProxy(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.resolve(context.Background(), tc.addr)
		if err != nil {
			t.Fatalf("%s: resolve(%s): %v", tc.raw, tc.addr, err)
		}
		host, port, _ := strings.Cut(got, ":")
		if strings.HasPrefix(got, "[") {
			host, port = got[1:strings.Index(got, "]")], got[strings.Index(got, "]")+2:]
		}
		ip, perr := netip.ParseAddr(host)
		switch {
		case port != "21":
			t.Errorf("%s: resolve(%s) = %s: the port changed", tc.raw, tc.addr, got)
		case p.Scheme == "socks5" && (perr != nil || (!ip.IsLoopback() && tc.addr == "localhost:21")):
			t.Errorf("%s: resolve(%s) = %s, want a loopback address", tc.raw, tc.addr, got)
		case p.Scheme != "socks5" && got != tc.addr:
			t.Errorf("%s: resolve(%s) = %s, want the name unchanged", tc.raw, tc.addr, got)
		}
	}
}
