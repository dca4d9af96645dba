package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/keepftp/keepftp"
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

// logins completes the login of URLs, in order: the URL itself,
// KEEPFTP_PASSWORD (for a URL that names a user), the netrc file, and a
// prompt when standard input is a terminal. Passwords are never echoed.
// What it finds is remembered per server and user, so that a batch asks
// once, and it is checked: a user or password holding CR, LF or NUL would
// end the USER or PASS command and start another, so it is refused with a
// usageError naming where it came from, never showing it.
type logins struct {
	netrcFile string
	env       environ   // KEEPFTP_PASSWORD, HOME
	stdin     io.Reader // the prompt reads from it when it is a terminal
	stderr    io.Writer // and asks there
	sec       *secrets  // told every password, to mask it in all output
	mu        sync.Mutex
	known     map[string]keepftp.Target // by Addr and the URL's own user
}

// newLogins makes the logins of a command: its --netrc-file, and the
// run's environment, streams and secrets.
func newLogins(c *cli.Context) *logins {
	return &logins{netrcFile: c.String("netrc-file"), env: envOf(c), stdin: c.App.Reader, stderr: c.App.ErrWriter, sec: secretsOf(c), known: map[string]keepftp.Target{}}
}

// fill completes t's login; it is Options.Credentials.
func (l *logins) fill(t *keepftp.Target) error {
	key := t.Addr + "\x00" + t.User
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sec.add(t.Password) // from the URL
	if k, ok := l.known[key]; ok && t.Password == "" {
		t.User, t.Password = k.User, k.Password
		return nil
	}
	if err := l.complete(t); err != nil {
		return err
	}
	l.sec.add(t.Password)
	l.known[key] = *t
	return nil
}

// complete completes t's login from the environment, the netrc file or a
// prompt (see logins).
func (l *logins) complete(t *keepftp.Target) error {
	if t.User != "" && t.Password != "" {
		return nil
	}
	if t.User != "" {
		if pw, ok := l.env("KEEPFTP_PASSWORD"); ok {
			if hasLineBreak(pw) {
				return usageError{"KEEPFTP_PASSWORD holds a CR, LF or NUL"}
			}
			t.Password = pw
			return nil
		}
	}
	netrcFile := l.netrcFile
	if netrcFile == "" {
		if home, _ := l.env("HOME"); home != "" {
			netrcFile = filepath.Join(home, ".netrc")
		}
	}
	if data, err := os.ReadFile(netrcFile); err == nil {
		host := t.Addr
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if e, ok := parseNetrc(string(data), host); ok && (t.User == "" || t.User == e.login) {
			if hasLineBreak(e.login) || hasLineBreak(e.password) {
				return usageError{fmt.Sprintf("netrc file %s: the entry for %s holds a CR, LF or NUL in its login or password", safeText(netrcFile), safeText(host))}
			}
			if t.User == "" {
				t.User = e.login
			}
			t.Password = e.password
			return nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return usageError{fmt.Sprintf("netrc file: %v", err)}
	}
	if fd, tty := terminal(l.stdin); t.User != "" && tty {
		fmt.Fprintf(l.stderr, "password for %s: ", safeText(t.String()))
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(l.stderr)
		if err != nil {
			return err
		}
		if hasLineBreak(string(pw)) {
			return usageError{"the password typed holds a CR, LF or NUL"}
		}
		t.Password = string(pw)
	}
	return nil
}

// hasLineBreak reports whether s holds a CR, LF or NUL: a character that
// would end an FTP command and start another.
func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }

// listLine is one job of a batch list.
type listLine struct {
	url, dst string
	where    string // FILE:LINE, to name it in errors
}

// readLines reads a batch list: one URL and an optional destination per
// line; blank lines and lines starting with # are skipped. A destination
// holding a CR, LF or NUL is refused (the URL is checked by checkURL).
func readLines(name string) ([]listLine, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	defer f.Close()
	var jobs []listLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		where := fmt.Sprintf("%s:%d", safeText(name), n)
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		switch len(f) {
		case 1:
			jobs = append(jobs, listLine{f[0], "", where})
		case 2:
			if hasLineBreak(f[1]) {
				return nil, usageError{where + ": the destination holds a CR, LF or NUL"}
			}
			jobs = append(jobs, listLine{f[0], f[1], where})
		default:
			return nil, usageError{where + ": want a URL and an optional destination"}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, usageError{fmt.Sprintf("%s: %v", safeText(name), err)}
	}
	return jobs, nil
}
