package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keepftp/keepftp/resume"
	"golang.org/x/term"
)

// netrcEntry is one machine's login from a .netrc file.
type netrcEntry struct{ login, password string }

// parseNetrc reads .netrc tokens: "machine NAME login L password P",
// "default ...", and skips "macdef" bodies (up to an empty line). It
// returns the entry for host, or for default.
func parseNetrc(data, host string) (netrcEntry, bool) {
	var found, def netrcEntry
	var haveFound, haveDef bool
	var cur *netrcEntry
	lines := strings.Split(data, "\n")
	var toks []string
	for i := 0; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) > 0 && f[0] == "macdef" {
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			}
			continue
		}
		toks = append(toks, f...)
	}
	for i := 0; i < len(toks); i++ {
		next := func() string {
			if i+1 < len(toks) {
				i++
				return toks[i]
			}
			return ""
		}
		switch toks[i] {
		case "machine":
			cur = nil
			if next() == host && !haveFound {
				cur, haveFound = &found, true
			}
		case "default":
			cur = nil
			if !haveDef {
				cur, haveDef = &def, true
			}
		case "login":
			if v := next(); cur != nil {
				cur.login = v
			}
		case "password":
			if v := next(); cur != nil {
				cur.password = v
			}
		case "account":
			next()
		}
	}
	if haveFound {
		return found, true
	}
	return def, haveDef
}

// fillCredentials completes t's login, in order: the URL itself,
// KEEPFTP_PASSWORD (for a URL that names a user), the netrc file, and a
// prompt when standard input is a terminal. Passwords are never echoed.
func fillCredentials(t *resume.Target, netrcFile string) error {
	if t.User != "" && t.Password != "" {
		return nil
	}
	if t.User != "" {
		if pw, ok := os.LookupEnv("KEEPFTP_PASSWORD"); ok {
			t.Password = pw
			return nil
		}
	}
	if netrcFile == "" {
		if home, err := os.UserHomeDir(); err == nil {
			netrcFile = filepath.Join(home, ".netrc")
		}
	}
	if data, err := os.ReadFile(netrcFile); err == nil {
		host := t.Addr
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host = strings.Trim(host[:i], "[]")
		}
		if e, ok := parseNetrc(string(data), host); ok && (t.User == "" || t.User == e.login) {
			if t.User == "" {
				t.User = e.login
			}
			t.Password = e.password
			return nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return usageError{fmt.Sprintf("netrc file: %v", err)}
	}
	if t.User != "" && term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprintf(os.Stderr, "password for %s: ", t)
		pw, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		t.Password = string(pw)
	}
	return nil
}

// readLines reads a batch list: one URL and an optional destination per
// line; blank lines and lines starting with # are skipped.
func readLines(name string) ([][2]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	defer f.Close()
	var jobs [][2]string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		switch len(f) {
		case 1:
			jobs = append(jobs, [2]string{f[0], ""})
		case 2:
			jobs = append(jobs, [2]string{f[0], f[1]})
		default:
			return nil, usageError{fmt.Sprintf("%s:%d: want a URL and an optional destination", name, n)}
		}
	}
	return jobs, sc.Err()
}
