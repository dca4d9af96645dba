package keepftp

import (
	"errors"
	"testing"
	"time"
)

func rules(kv ...string) []FilterRule {
	var out []FilterRule
	for i := 0; i < len(kv); i += 2 {
		out = append(out, FilterRule{Exclude: kv[i] == "-", Pattern: kv[i+1]})
	}
	return out
}

// TestFilterRules: the first rule that matches decides; includes alone
// leave out the rest, excludes alone take it; a pattern without / is the
// last name at any depth, one with / the whole path; folders are looked
// into for an include that could match inside them.
func TestFilterRules(t *testing.T) {
	t.Parallel()
	type want struct {
		rel   string
		dir   bool
		taken bool
	}
	for _, tc := range []struct {
		name  string
		rules []FilterRule
		cases []want
	}{
		{"no rules", nil, []want{{"a", false, true}, {"d", true, true}}},
		{"exclude by name at any depth", rules("-", "*.tmp"), []want{
			{"x.tmp", false, false}, {"a/b/x.tmp", false, false}, {"x.tmp.gz", false, true}, {"a/b", true, true},
		}},
		{"include only", rules("+", "*.csv"), []want{
			{"a.csv", false, true}, {"d/e/a.csv", false, true}, {"a.txt", false, false},
			{"d", true, true}, // *.csv could match inside any folder
		}},
		{"anchored include", rules("+", "data/**"), []want{
			{"data", true, true}, {"data/x", false, true}, {"data/s/x", false, true}, {"data/s", true, true},
			{"logs", true, false}, {"x", false, false}, {"logs/data/x", false, false},
		}},
		{"leading slash anchors, same as a middle one", rules("-", "/top.txt"), []want{
			{"top.txt", false, false}, {"a/top.txt", false, true},
		}},
		{"first match wins: include before exclude", rules("+", "keep.log", "-", "*.log"), []want{
			{"keep.log", false, true}, {"a/keep.log", false, true}, {"other.log", false, false},
			{"x.txt", false, false}, // there is an include rule: what none matches is left out (as rclone)
		}},
		{"first match wins: exclude before include", rules("-", "*.log", "+", "keep.log"), []want{
			{"keep.log", false, false}, {"x.txt", false, false},
		}},
		{"include then exclude everything", rules("+", "*.csv", "-", "*"), []want{
			{"sub", true, true}, {"sub/a.csv", false, true}, {"sub/a.txt", false, false},
		}},
		{"an excluded folder is not looked into", rules("-", "tmp", "+", "*.csv"), []want{
			{"tmp", true, false}, {"a/tmp", true, false}, {"a", true, true}, {"a/x.csv", false, true},
		}},
		{"folder-only pattern", rules("-", "cache/"), []want{
			{"cache", true, false}, {"a/cache", true, false}, {"cache", false, true},
		}},
		{"** in the middle", rules("+", "logs/**/*.gz"), []want{
			{"logs/a.gz", false, true}, {"logs/2026/01/a.gz", false, true}, {"logs/a.txt", false, false},
			{"logs", true, true}, {"logs/2026", true, true}, {"other", true, false}, {"other/logs/a.gz", false, false},
		}},
		{"**/ at the start: any depth", rules("-", "**/node_modules"), []want{
			{"node_modules", true, false}, {"a/b/node_modules", true, false}, {"a/node_modules2", true, true},
		}},
		{"exclude a folder's contents, not the folder", rules("-", "build/**"), []want{
			{"build", true, true}, {"build/x", false, false}, {"build/sub", true, false}, {"src/x", false, true},
		}},
	} {
		f, err := NewFilter(FilterOptions{Rules: tc.rules})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, w := range tc.cases {
			if got := f.Includes(w.rel, w.dir, 10, time.Now()); got != w.taken {
				t.Errorf("%s: Includes(%q, dir=%v) = %v, want %v", tc.name, w.rel, w.dir, got, w.taken)
			}
		}
	}
}

func TestFilterSizeAndTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	week := now.Add(-7 * 24 * time.Hour)
	f, err := NewFilter(FilterOptions{MinSize: 10, MaxSize: 100, NewerThan: week, OlderThan: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		size  int64
		mod   time.Time
		dir   bool
		taken bool
	}{
		{50, now.Add(-time.Hour), false, true},
		{10, week, false, true},                    // both bounds are inclusive below
		{100, now.Add(-time.Second), false, true},  // MaxSize inclusive
		{9, now.Add(-time.Hour), false, false},     // too small
		{101, now.Add(-time.Hour), false, false},   // too big
		{50, week.Add(-time.Second), false, false}, // too old
		{50, now, false, false},                    // OlderThan is strict
		{-1, now.Add(-time.Hour), false, false},    // size unknown
		{50, time.Time{}, false, false},            // time unknown
		{-1, time.Time{}, true, true},              // folders: rules only
	} {
		if got := f.Includes("x", tc.dir, tc.size, tc.mod); got != tc.taken {
			t.Errorf("Includes(size %d, time %v, dir %v) = %v, want %v", tc.size, tc.mod, tc.dir, got, tc.taken)
		}
	}
	var none *Filter
	if !none.Includes("x", false, -1, time.Time{}) {
		t.Error("a nil Filter leaves a file out")
	}
}

func TestNewFilterRefuses(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, o := range []FilterOptions{
		{Rules: rules("+", "[a")},
		{Rules: rules("-", "")},
		{Rules: rules("+", "ok", "-", `bad\`)},
		{MinSize: -1},
		{MinSize: 10, MaxSize: 5},
		{NewerThan: now, OlderThan: now.Add(-time.Hour)},
	} {
		if _, err := NewFilter(o); err == nil {
			t.Errorf("NewFilter(%+v) accepted", o)
		}
	}
	_, err := NewFilter(FilterOptions{Rules: rules("+", "[a")})
	if !errors.Is(err, ErrBadPattern) {
		t.Errorf("bad glob: %v, want ErrBadPattern", err)
	}
}
