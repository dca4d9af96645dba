package control

import (
	"fmt"
	"strconv"
	"strings"
)

// MLSD listings: one line of RFC 3659 facts and a name.

// ParseMLSDLine parses one line of an MLSD listing (RFC 3659 7.2):
// "type=file;size=12;modify=20240101120000; name". Fact names and the
// values of type are case-insensitive. The name is everything after the
// first space. ok is false, with no error, for lines to skip: blank lines,
// type=cdir and type=pdir entries, and the names "." and "..".
func ParseMLSDLine(line string) (e Entry, ok bool, err error) {
	line = trimEOL(line)
	if strings.IndexByte(line, '\n') >= 0 {
		return Entry{}, false, badLine("MLSD", line, "more than one line")
	}
	if strings.TrimSpace(line) == "" {
		return Entry{}, false, nil
	}
	sp := strings.IndexByte(line, ' ')
	if sp < 0 {
		return Entry{}, false, badLine("MLSD", line, "no space between the facts and the name")
	}
	e = Entry{Name: line[sp+1:], Size: -1, Facts: Facts{}}
	if e.Name == "" {
		return Entry{}, false, badLine("MLSD", line, "empty name")
	}
	for _, f := range strings.Split(line[:sp], ";") {
		if f == "" {
			continue
		}
		k, v, found := strings.Cut(f, "=")
		if !found || k == "" {
			return Entry{}, false, badLine("MLSD", line, fmt.Sprintf("fact %q is not name=value", f))
		}
		e.Facts[strings.ToLower(k)] = v
	}
	if t, has := e.Facts["type"]; has {
		lt := strings.ToLower(t)
		switch {
		case lt == "file":
			e.Type = File
		case lt == "dir":
			e.Type = Dir
		case lt == "cdir" || lt == "pdir":
			return Entry{}, false, nil
		case strings.HasPrefix(lt, "os.unix=slink"), strings.HasPrefix(lt, "os.unix=symlink"):
			e.Type = Link
			if _, target, found := strings.Cut(t, ":"); found {
				e.Target = target
			}
		default:
			e.Type = Other
		}
	}
	if e.Name == "." || e.Name == ".." {
		return Entry{}, false, nil
	}
	if s, has := e.Facts["size"]; has {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || !allDigits(s) {
			return Entry{}, false, badLine("MLSD", line, fmt.Sprintf("size %q", s))
		}
		e.Size = n
	}
	if m, has := e.Facts["modify"]; has {
		t, err := ParseTime(m)
		if err != nil {
			return Entry{}, false, badLine("MLSD", line, fmt.Sprintf("modify %q", m))
		}
		e.ModTime = t
	}
	return e, true, nil
}
