package noproxy

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		list, host string
		want       bool
	}{
		{"*", "anything.example", true},
		{"*", "127.0.0.1", true},
		{"", "example.com", false},
		{"example.com", "example.com", true},
		{"example.com", "www.example.com", true},
		{"example.com", "notexample.com", false},
		{".example.com", "example.com", true},
		{".example.com", "a.b.example.com", true},
		{"Example.COM.", "www.example.com.", true},
		{"www.example.com", "example.com", false},
		{"foo, example.com", "example.com", true},
		{"foo ,\texample.com ,bar", "bar", true},
		{"foo,,,example.com", "example.com", true},
		{"foo example.com", "example.com", false},   // curl: a blank without a comma ends the list
		{"*.example.com", "www.example.com", false}, // no wildcards but "*" alone
		{"*,example.com", "other.com", false},
		{"localhost", "127.0.0.1", false}, // nothing is resolved
		{"127.0.0.1", "localhost", false},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.10", false},
		{"127.0.0.0/8", "127.1.2.3", true},
		{"10.0.0.0/8", "11.0.0.1", false},
		{"192.168.0.0/16", "192.168.200.1", true},
		{"192.168.0.0/33", "192.168.0.1", false},
		{"::1", "[::1]", true},
		{"::1", "::1", true},
		{"[::1]", "::1", true},
		{"fe80::/10", "fe80::1%eth0", true},
		{"2001:db8::/32", "2001:db9::1", false},
		{"127.0.0.1", "::1", false},
	} {
		if got := Match(tc.list, tc.host); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.list, tc.host, got, tc.want)
		}
	}
}

// FuzzMatch: no list or host panics; "*" matches every host; a plain name
// always matches itself, and a list holding it among others.
func FuzzMatch(f *testing.F) {
	f.Add("example.com, .internal ,10.0.0.0/8", "www.example.com")
	f.Add("::1,fe80::/10", "[fe80::1%25eth0]")
	f.Add("192.168.0.0/99", "192.168.0.1")
	f.Fuzz(func(t *testing.T, list, host string) {
		Match(list, host)
		if !Match("*", host) {
			t.Fatalf("Match(*, %q) = false", host)
		}
		if plainName(host) && !Match(host, host) {
			t.Fatalf("Match(%q, itself) = false", host)
		}
		if plainName(host) && !strings.ContainsAny(list, " \t") && !Match(list+","+host, host) {
			t.Fatalf("Match(%q, %q) = false", list+","+host, host)
		}
	})
}

func plainName(s string) bool {
	if s == "" || s[len(s)-1] == '.' || !('a' <= s[0] && s[0] <= 'z') {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// Choose reads the environment it is given (Env): none without one, a
// program's own, or the process's.
func TestChooseEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ftps_proxy": "http://tls:1", "all_proxy": "socks5://all:2", "no_proxy": "direct.example"}
	getenv := func(k string) string { return env[k] }
	if Env(false, getenv) != nil {
		t.Error("Env without environment reads one")
	}
	if Env(true, nil) == nil {
		t.Error("Env with environment and no Getenv is not the process's")
	}
	for _, tc := range []struct {
		url, list string
		getenv    func(string) string
		addr      string
		implicit  bool
		want      string
	}{
		{"", "", nil, "h:21", false, ""},
		{"", "", Env(true, getenv), "h:21", false, "socks5://all:2 (from all_proxy)"},
		{"", "", Env(true, getenv), "h:990", true, "http://tls:1 (from ftps_proxy)"},
		{"", "", Env(true, getenv), "direct.example:21", false, ""},
		{"", "other.example", Env(true, getenv), "direct.example:21", false, "socks5://all:2 (from all_proxy)"},
		{"http://given:3", "", Env(true, getenv), "h:21", false, "http://given:3"},
	} {
		p, err := Choose(tc.url, tc.list, tc.getenv, tc.addr, tc.implicit)
		got := ""
		if p != nil {
			got = p.String()
		}
		if err != nil || got != tc.want {
			t.Errorf("Choose(%q, %q, %s): %q, %v; want %q", tc.url, tc.list, tc.addr, got, err, tc.want)
		}
	}
}
