package control

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// LIST in Unix ls -l style: permissions, links, owner, group, size, date
// and name, in the forms real servers print.

// unixType reads the permission field of ls -l: a type letter and nine
// permission characters, plus an optional ACL/SELinux/xattr marker ("+",
// ".", "@"). Servers built on Go's fs.FileMode (ftpserverlib) print its
// String instead: one or more type letters ("L" symlink, "D" device,
// "Dc" character device, "u" setuid file...) before the nine characters.
func unixType(perm string) (EntryType, bool) {
	if n := len(perm); n > 10 && strings.IndexByte("+.@", perm[n-1]) >= 0 {
		perm = perm[:n-1]
	}
	if len(perm) < 10 || len(perm) > 14 {
		return 0, false
	}
	prefix, bits := perm[:len(perm)-9], perm[len(perm)-9:]
	for i := 0; i < len(bits); i++ {
		if strings.IndexByte("-rwxsStTlL?", bits[i]) < 0 {
			return 0, false
		}
	}
	if len(prefix) == 1 {
		switch prefix[0] {
		case '-':
			return File, true
		case 'd':
			return Dir, true
		case 'l', 'L':
			return Link, true
		case 'b', 'c', 'p', 's', 'S', 'D', 'n', 'P', 'w', '?':
			return Other, true
		case 'a', 'u', 'g', 't', 'T': // Go: append-only, setuid, setgid, sticky, temporary file
			return File, true
		}
		return 0, false
	}
	// Go's FileMode.String: several of "dalTLDpSugct?".
	typ := File
	for i := 0; i < len(prefix); i++ {
		switch c := prefix[i]; {
		case strings.IndexByte("dalTLDpSugct?", c) < 0:
			return 0, false
		case c == 'd':
			typ = Dir
		case c == 'L':
			typ = Link
		case strings.IndexByte("DpSc?", c) >= 0 && typ == File:
			typ = Other
		}
	}
	return typ, true
}

var months = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March,
	"apr": time.April, "may": time.May, "jun": time.June,
	"jul": time.July, "aug": time.August, "sep": time.September,
	"oct": time.October, "nov": time.November, "dec": time.December,
}

func parseMonth(s string) (time.Month, bool) {
	if len(s) != 3 {
		return 0, false
	}
	m, ok := months[strings.ToLower(s)]
	return m, ok
}

// inferYear dates "Mon DD HH:MM": the latest year that puts it no more
// than 6 months after now's wall clock.
func inferYear(now time.Time, mo time.Month, d, h, mi int) (time.Time, bool) {
	wall := time.Date(now.Year(), now.Month(), now.Day(), now.Hour(), now.Minute(), now.Second(), now.Nanosecond(), time.UTC)
	limit := wall.AddDate(0, 6, 0)
	for y := wall.Year() + 1; y >= wall.Year()-8; y-- {
		if t, ok := validDate(y, mo, d, h, mi, 0, 0); ok && !t.After(limit) {
			return t, true
		}
	}
	return time.Time{}, false
}

// unixDate recognises the date at fs[i]: "Mon DD HH:MM", "Mon DD YYYY",
// "YYYY-MM-DD HH:MM[:SS]" or "YYYY-MM-DD HH:MM:SS.fff +hhmm" (ls
// --full-time). It returns the date and the index of its last field.
func unixDate(fs []field, i int, now time.Time) (t time.Time, last int, ok bool, bad string) {
	if mo, isMonth := parseMonth(fs[i].s); isMonth {
		if i+2 >= len(fs) {
			return time.Time{}, 0, false, ""
		}
		d, ok := atoiN(fs[i+1].s, 2, 1, 31)
		if !ok {
			return time.Time{}, 0, false, ""
		}
		third := fs[i+2].s
		if h, mi, ok := parseHHMM(third); ok {
			t, ok := inferYear(now, mo, d, h, mi)
			if !ok {
				return time.Time{}, 0, false, fmt.Sprintf("no year has %s %d", mo, d)
			}
			return t, i + 2, true, ""
		}
		if len(third) == 4 && allDigits(third) {
			y, _ := strconv.Atoi(third)
			t, ok := validDate(y, mo, d, 0, 0, 0, 0)
			if !ok {
				return time.Time{}, 0, false, fmt.Sprintf("invalid date %s %d %d", mo, d, y)
			}
			return t, i + 2, true, ""
		}
		return time.Time{}, 0, false, ""
	}
	ds := fs[i].s
	if len(ds) != 10 || ds[4] != '-' || ds[7] != '-' || i+1 >= len(fs) {
		return time.Time{}, 0, false, ""
	}
	y, ok1 := atoiN(ds[:4], 4, 0, 9999)
	mo, ok2 := atoiN(ds[5:7], 2, 1, 12)
	d, ok3 := atoiN(ds[8:], 2, 1, 31)
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, 0, false, ""
	}
	ts := fs[i+1].s
	var h, mi, sec, ns int
	frac := false
	switch {
	case len(ts) == 5:
		var ok bool
		if h, mi, ok = parseHHMM(ts); !ok {
			return time.Time{}, 0, false, ""
		}
	case len(ts) >= 8 && ts[5] == ':':
		var ok bool
		if h, mi, ok = parseHHMM(ts[:5]); !ok {
			return time.Time{}, 0, false, ""
		}
		if sec, ok = atoiN(ts[6:8], 2, 0, 59); !ok {
			return time.Time{}, 0, false, ""
		}
		if len(ts) > 8 {
			f := ts[9:]
			if ts[8] != '.' || len(f) == 0 || len(f) > 9 || !allDigits(f) {
				return time.Time{}, 0, false, ""
			}
			ns, _ = strconv.Atoi(f + strings.Repeat("0", 9-len(f)))
			frac = true
		}
	default:
		return time.Time{}, 0, false, ""
	}
	t, ok = validDate(y, time.Month(mo), d, h, mi, sec, ns)
	if !ok {
		return time.Time{}, 0, false, fmt.Sprintf("invalid date %s", ds)
	}
	if !frac {
		return t, i + 1, true, ""
	}
	// ls --full-time: a zone follows the fractional seconds.
	if i+2 >= len(fs) {
		return time.Time{}, 0, false, ""
	}
	z := fs[i+2].s
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return time.Time{}, 0, false, ""
	}
	zh, ok1 := atoiN(z[1:3], 2, 0, 23)
	zm, ok2 := atoiN(z[3:], 2, 0, 59)
	if !ok1 || !ok2 {
		return time.Time{}, 0, false, ""
	}
	off := time.Duration(zh)*time.Hour + time.Duration(zm)*time.Minute
	if z[0] == '-' {
		off = -off
	}
	return t.Add(-off), i + 2, true, ""
}

// parseUnix parses ls -l output: perm [links] owner [group] size date name.
// The date is found as the first field from the fourth on that starts a
// valid date and follows a size, so a date-like name cannot move it.
func parseUnix(line string, fs []field, now time.Time) (Entry, error) {
	typ, ok := unixType(fs[0].s)
	if !ok {
		return Entry{}, badLine("LIST", line, "unknown format")
	}
	for i := 3; i <= 7 && i < len(fs); i++ {
		prev := fs[i-1].s
		device := typ == Other && (isDeviceNumbers(prev) || allDigits(prev) && strings.HasSuffix(fs[i-2].s, ","))
		if !allDigits(prev) && !device {
			continue
		}
		t, last, ok, bad := unixDate(fs, i, now)
		if bad != "" {
			return Entry{}, badLine("LIST", line, bad)
		}
		if !ok {
			continue
		}
		size := int64(-1)
		if !device {
			n, err := strconv.ParseInt(prev, 10, 64)
			if err != nil {
				return Entry{}, badLine("LIST", line, fmt.Sprintf("size %q", prev))
			}
			size = n
		}
		name := restAfter(line, fs[last].end)
		if name == "" {
			return Entry{}, badLine("LIST", line, "no name")
		}
		e := Entry{Name: name, Type: typ, Size: size, ModTime: t}
		if typ == Link {
			if n, target, found := strings.Cut(name, " -> "); found {
				if n == "" {
					return Entry{}, badLine("LIST", line, "no name")
				}
				e.Name, e.Target = n, target
			}
		}
		return e, nil
	}
	return Entry{}, badLine("LIST", line, "no size and date where ls -l puts them")
}

// isDeviceNumbers reports "major,minor".
func isDeviceNumbers(s string) bool {
	a, b, found := strings.Cut(s, ",")
	return found && allDigits(a) && allDigits(b)
}
