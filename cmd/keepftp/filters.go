package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/urfave/cli/v2"
)

// filterFlags are the flags that choose the files of a tree: mirror, get
// with a pattern, put -r. The rules' syntax is keepftp.Filter's.
func filterFlags() []cli.Flag {
	rules := &filterRules{} // --include and --exclude append to one list, in the order typed
	return []cli.Flag{
		&cli.GenericFlag{Name: "exclude", Value: &ruleFlag{rules: rules, exclude: true},
			Usage: "leave out names matching `GLOB` (repeatable): a GLOB without / matches a name at any depth, one with / the path from the top, ** crosses folders, a trailing / is folders only; the first --include or --exclude that matches decides"},
		&cli.GenericFlag{Name: "include", Value: &ruleFlag{rules: rules},
			Usage: "take names matching `GLOB` (repeatable); with any --include, what no rule matches is left out: --include '*.csv' takes CSV files at any depth"},
		&cli.StringFlag{Name: "newer-than", Usage: "take only files modified at or after `WHEN`: a date (2026-01-31, 2026-01-31T08:00:00, RFC 3339) or an age (90m, 36h, 7d, 2w)"},
		&cli.StringFlag{Name: "older-than", Usage: "take only files modified before `WHEN` (a date or an age, as --newer-than)"},
		&cli.StringFlag{Name: "min-size", Usage: "take only files of at least `SIZE` bytes, with K, M or G suffix (1024-based)"},
		&cli.StringFlag{Name: "max-size", Usage: "take only files of at most `SIZE` bytes, with K, M or G suffix (1024-based)"},
	}
}

// filterFlagNames are the names of filterFlags, for "does this command line
// filter at all".
var filterFlagNames = []string{"exclude", "include", "newer-than", "older-than", "min-size", "max-size"}

// removeSourceFlag turns copies into moves.
func removeSourceFlag(what string) cli.Flag {
	return &cli.BoolFlag{Name: "remove-source-files", Usage: "remove each source file once its copy is verified (" + what + "); a copy that failed, that nothing could verify, or that was skipped as up to date keeps its source"}
}

// filterRules holds --include and --exclude in command-line order.
type filterRules struct{ list []keepftp.FilterRule }

// ruleFlag is the value of --include or --exclude: each use appends a rule
// to the list the two share, so that their interleaving is kept (a
// StringSliceFlag each would keep each flag's order, not the two's).
type ruleFlag struct {
	rules   *filterRules
	exclude bool
}

func (r *ruleFlag) Set(v string) error {
	r.rules.list = append(r.rules.list, keepftp.FilterRule{Exclude: r.exclude, Pattern: v})
	return nil
}

func (r *ruleFlag) String() string { return "" }

// filtering reports whether the command line sets any filter flag.
func filtering(c *cli.Context) bool {
	for _, n := range filterFlagNames {
		if c.IsSet(n) {
			return true
		}
	}
	return false
}

// filterFrom makes the keepftp.Filter of the command line's filter flags,
// nil when none is set. Ages count back from now.
func filterFrom(c *cli.Context, now time.Time) (*keepftp.Filter, error) {
	if !filtering(c) {
		return nil, nil
	}
	var o keepftp.FilterOptions
	if rf, ok := c.Generic("exclude").(*ruleFlag); ok {
		o.Rules = rf.rules.list
	}
	var err error
	for _, b := range []struct {
		flag string
		to   *time.Time
	}{{"newer-than", &o.NewerThan}, {"older-than", &o.OlderThan}} {
		if s := c.String(b.flag); s != "" {
			if *b.to, err = parseWhen(s, now); err != nil {
				return nil, usageError{fmt.Sprintf("--%s: %v", b.flag, err)}
			}
		}
	}
	for _, b := range []struct {
		flag string
		to   *int64
	}{{"min-size", &o.MinSize}, {"max-size", &o.MaxSize}} {
		if s := c.String(b.flag); s != "" {
			if *b.to, err = parseSize(s); err != nil {
				return nil, usageError{fmt.Sprintf("--%s: %v", b.flag, err)}
			}
		}
	}
	f, err := keepftp.NewFilter(o)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return f, nil
}

// checkFilterValue checks the value of a filter flag as normalizeArgs reads
// the command line, so that a bad one exits 2 before anything connects.
func checkFilterValue(name, value string) error {
	var err error
	switch name {
	case "include", "exclude":
		_, err = keepftp.NewFilter(keepftp.FilterOptions{Rules: []keepftp.FilterRule{{Pattern: value}}})
	case "newer-than", "older-than":
		_, err = parseWhen(value, time.Now())
	case "min-size", "max-size":
		_, err = parseSize(value)
	default:
		return nil
	}
	if err != nil {
		return usageError{fmt.Sprintf("--%s %s: %v", name, safeText(value), err)}
	}
	return nil
}

// ageUnits are the units of an age, beyond time.ParseDuration's: a day is
// 24 hours and a week 7 days (no calendar: an age is a duration).
var ageUnits = map[string]time.Duration{
	"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
}

// dateLayouts are the dates --newer-than and --older-than take; those
// without a zone are local time (as find -newermt and rclone read them).
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"}

// parseWhen reads a point in time: a date in one of dateLayouts, or an
// age (a sum of numbers with units, as 1d12h or 90m) counted back from
// now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	d, err := parseAge(s)
	if errors.Is(err, errAgeTooLong) {
		return time.Time{}, fmt.Errorf("%s: %w", strconv.Quote(s), err)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is neither a date (2026-01-31, 2026-01-31T08:00:00, RFC 3339) nor an age (90m, 36h, 7d, 2w)", strconv.Quote(s))
	}
	return now.Add(-d), nil
}

// errAgeTooLong is an age past any file's: a hundred years is older than
// any, and more would overflow a time.Duration.
var errAgeTooLong = errors.New("an age of more than 100 years")

// parseAge reads an age: one or more numbers (a fraction allowed), each
// with a unit of ageUnits.
func parseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty")
	}
	var total float64
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		j := i
		for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
			j++
		}
		unit, ok := ageUnits[s[i:j]]
		if i == 0 || !ok {
			return 0, fmt.Errorf("bad age")
		}
		v, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, err
		}
		total += v * float64(unit)
		s = s[j:]
	}
	if total > float64(100*365*24*time.Hour) || math.IsNaN(total) {
		return 0, errAgeTooLong
	}
	return time.Duration(total), nil
}
