package main

import "testing"

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{"100": 100, "8M": 8 << 20, "1.5k": 1536, "2G": 2 << 30} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "M", "-5", "fast", "0"} {
		if _, err := parseRate(bad); err == nil {
			t.Errorf("parseRate(%q) accepted", bad)
		}
	}
}
