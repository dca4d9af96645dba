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
