package control

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// LIST in the DOS style of Microsoft IIS: date, time, <DIR> or size, name.

// isDOSDate reports "MM-DD-YY" or "MM-DD-YYYY".
func isDOSDate(s string) bool {
	if len(s) != 8 && len(s) != 10 {
		return false
	}
	return s[2] == '-' && s[5] == '-' && allDigits(s[:2]) && allDigits(s[3:5]) && allDigits(s[6:])
}

// iisDirPad is how many spaces IIS writes after "<DIR>".
const iisDirPad = 10

// parseDOS parses the IIS format: "MM-DD-YY  hh:mmAM  <DIR>  name" or
// "MM-DD-YYYY  HH:MM  size name".
func parseDOS(line string, fs []field) (Entry, error) {
	ds := fs[0].s
	mo, ok1 := atoiN(ds[:2], 2, 1, 12)
	d, ok2 := atoiN(ds[3:5], 2, 1, 31)
	if !ok1 || !ok2 {
		return Entry{}, badLine("LIST", line, "invalid date")
	}
	y, _ := strconv.Atoi(ds[6:])
	if len(ds) == 8 { // as strptime's %y
		if y < 69 {
			y += 2000
		} else {
			y += 1900
		}
	}
	if len(fs) < 3 {
		return Entry{}, badLine("LIST", line, "unknown format")
	}
	i := 1
	ts := fs[i].s
	ampm := ""
	if n := len(ts); n > 2 {
		switch strings.ToUpper(ts[n-2:]) {
		case "AM", "PM":
			ts, ampm = ts[:n-2], strings.ToUpper(ts[n-2:])
		}
	}
	if ampm == "" && i+1 < len(fs) {
		if u := strings.ToUpper(fs[i+1].s); u == "AM" || u == "PM" {
			ampm = u
			i++
		}
	}
	h, mi, ok := parseHHMM(ts)
	if !ok {
		return Entry{}, badLine("LIST", line, "invalid time")
	}
	if ampm != "" {
		if h > 12 {
			return Entry{}, badLine("LIST", line, "invalid time")
		}
		h %= 12
		if ampm == "PM" {
			h += 12
		}
	}
	t, ok := validDate(y, time.Month(mo), d, h, mi, 0, 0)
	if !ok {
		return Entry{}, badLine("LIST", line, "invalid date")
	}
	i++
	if i >= len(fs) {
		return Entry{}, badLine("LIST", line, "no size")
	}
	e := Entry{Type: File, Size: -1, ModTime: t}
	sf := fs[i]
	switch {
	case strings.EqualFold(sf.s, "<DIR>"):
		e.Type = Dir
		rest := line[sf.end:]
		pad := 0
		for pad < len(rest) && isSep(rest[pad]) {
			pad++
		}
		if pad >= iisDirPad {
			pad = iisDirPad
		}
		e.Name = rest[pad:]
	case allDigits(sf.s):
		n, err := strconv.ParseInt(sf.s, 10, 64)
		if err != nil {
			return Entry{}, badLine("LIST", line, fmt.Sprintf("size %q", sf.s))
		}
		e.Size = n
		e.Name = restAfter(line, sf.end)
	default:
		return Entry{}, badLine("LIST", line, "no size or <DIR>")
	}
	if e.Name == "" {
		return Entry{}, badLine("LIST", line, "no name")
	}
	return e, nil
}
