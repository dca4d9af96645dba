package main

import (
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"90m":                       now.Add(-90 * time.Minute),
		"36h":                       now.Add(-36 * time.Hour),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"2w":                        now.Add(-14 * 24 * time.Hour),
		"1d12h":                     now.Add(-36 * time.Hour),
		"1.5d":                      now.Add(-36 * time.Hour),
		"30s":                       now.Add(-30 * time.Second),
		"2026-01-31":                time.Date(2026, 1, 31, 0, 0, 0, 0, time.Local),
		"2026-01-31T08:00:00":       time.Date(2026, 1, 31, 8, 0, 0, 0, time.Local),
		"2026-01-31T08:00:00Z":      time.Date(2026, 1, 31, 8, 0, 0, 0, time.UTC),
		"2026-01-31T08:00:00+02:00": time.Date(2026, 1, 31, 6, 0, 0, 0, time.UTC),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "7", "7x", "-7d", "7d-", "yesterday", "2026-13-01", "2026-01-31 08:00", "1e3d", "99999w", "NaNd", "7D", ".d"} {
		if got, err := parseWhen(bad, now); err == nil {
			t.Errorf("parseWhen(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"1": 1, "500K": 500 << 10, "1.5M": 3 << 19, "2G": 2 << 30, "2g": 2 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "0.1", "-1K", "K", "NaN", "Inf", "1T", "1e30G"} {
		if got, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, got)
		}
	}
}

// FuzzParseWhen: no input panics; what parses is a time no later than
// now for an age, and no earlier than 100 years ago.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"7d", "1d12h", "2026-01-31", "2026-01-31T08:00:00", "2026-01-31T08:00:00+02:00", "1.5w", "99999w", "..d", "1e9h"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseWhen(s, now)
		if err != nil {
			return
		}
		if d, aerr := parseAge(s); aerr == nil {
			if d < 0 || got.After(now) || now.Sub(got) != d {
				t.Fatalf("age %q: %v, %v (now %v)", s, d, got, now)
			}
		}
	})
}
