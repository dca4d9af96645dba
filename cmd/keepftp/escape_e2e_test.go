package main

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// hostile is text a server might send to take over a terminal: a title
// change (OSC ... BEL), a screen clear, colour, a NUL, DEL, a C1 CSI and a
// right-to-left override that would reorder what follows.
const hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x00nul\x7f\u009b31m\u202eexe.txt"

// controlIn returns the first control character (other than a line break)
// or invisible format character in s, or "" if none.
func controlIn(s string) string {
	for i, r := range s {
		switch {
		case r == '\n':
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x202e:
			return strings.ToValidUTF8(s[max(0, i-20):min(len(s), i+20)], "?")
		case r == utf8.RuneError:
			return "invalid UTF-8"
		}
	}
	return ""
}

// TestUntrustedTextEscaped: names from listings, link targets, server
// reply texts (greeting, errors), in ls, ls -l, get's errors, mirror's
// summary, doctor's report and the -v protocol log, reach the terminal
// with their control characters escaped; --json keeps them exact.
func TestUntrustedTextEscaped(t *testing.T) {
	t.Parallel()
	mlsdListing := "type=file;size=3;modify=20200101000000; a" + hostile + "\r\ntype=file;size=4;modify=20200101000000; plain.txt\r\n"
	mlsd := ftptest.StartFake(t)
	mlsd.MLST = true
	mlsd.Greeting = func() []string { return []string{"220 " + hostile} }
	mlsd.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch verb {
		case "SIZE", "MLST", "RETR", "MDTM":
			s.Reply("550 " + hostile + " is not here")
		case "MLSD", "LIST", "NLST":
			s.SendData([]byte(mlsdListing), "")
		default:
			return false
		}
		return true
	}
	mlsdAddr := mlsd.Addr()
	listListing := "lrwxrwxrwx 1 u g 7 Jan 01 2020 link" + hostile + " -> target" + hostile + "\r\n-rw-r--r-- 1 u g 3 Jan 01 2020 f" + hostile + "\r\n"
	list := ftptest.StartFake(t)
	list.Greeting = func() []string { return []string{"220-" + hostile, "220 ready"} }
	list.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch verb {
		case "MLSD":
			s.Reply("500 " + hostile)
		case "LIST", "NLST":
			s.SendData([]byte(listListing), "")
		case "SIZE", "MLST", "RETR", "MDTM":
			s.Reply("550 " + arg + ": no such file")
		default:
			return false
		}
		return true
	}
	listAddr := list.Addr()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"ls", "ftp://" + mlsdAddr + "/"},
		{"ls", "-l", "ftp://" + mlsdAddr + "/"},
		{"ls", "-v", "ftp://" + mlsdAddr + "/"},
		{"ls", "ftp://" + listAddr + "/"},
		{"ls", "-l", "ftp://" + listAddr + "/"},
		{"get", "--retries", "0", "-o", dir + "/x", "ftp://" + mlsdAddr + "/x" + url.PathEscape(strings.NewReplacer("\x00", "", "[", "").Replace(hostile))},
		{"get", "-v", "--retries", "0", "-o", dir + "/y", "ftp://" + mlsdAddr + "/y"},
		{"get", "--retries", "0", "-o", dir, "ftp://" + mlsdAddr + "/*"},
		{"mirror", "--retries", "0", "ftp://" + mlsdAddr + "/", dir + "/m"},
		{"doctor", "--timeout", "5s", "ftp://" + mlsdAddr + "/plain.txt"},
		{"doctor", "-v", "--timeout", "5s", "ftp://" + listAddr + "/f"},
	} {
		code, stdout, stderr := runKeepftp(t, nil, args...)
		if c := controlIn(stdout); c != "" {
			t.Errorf("keepftp %v (exit %d): a control character on stdout near %q", args, code, c)
		}
		if c := controlIn(stderr); c != "" {
			t.Errorf("keepftp %v (exit %d): a control character on stderr near %q", args, code, c)
		}
		if (args[0] == "get" || args[1] == "-v") && !strings.Contains(stdout+stderr, `\x1b]0;pwned\x07`) {
			t.Errorf("keepftp %v (exit %d): the hostile name or reply is not shown, escaped:\n%s", args, code, stderr)
		}
	}
	// ls shows both names, the hostile one escaped; --json keeps it exact.
	_, stdout, _ := runKeepftp(t, nil, "ls", "ftp://"+mlsdAddr+"/")
	if !strings.Contains(stdout, `a\x1b]0;pwned\x07\x1b[2J\x1b[31mred`) || !strings.Contains(stdout, "plain.txt") {
		t.Errorf("ls output:\n%s", stdout)
	}
	_, stdout, _ = runKeepftp(t, nil, "ls", "--json", "ftp://"+mlsdAddr+"/")
	if !strings.Contains(stdout, `\u001b]0;pwned\u0007`) {
		t.Errorf("ls --json does not keep the name exactly:\n%s", stdout)
	}
}

func TestSafeText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain name.txt":       "plain name.txt",
		"été 日本":               "été 日本",
		"a\x1b[2Jb":            `a\x1b[2Jb`,
		"nul\x00":              `nul\x00`,
		"bell\x07tab\tdel\x7f": `bell\x07tab\x09del\x7f`,
		"c1\u009bx":            `c1\x9bx`,
		"rlo\u202ecod.exe":     `rlo\u202ecod.exe`,
		"bad\xffbyte":          `bad\xffbyte`,
		"line\nbreak":          `line\x0abreak`,
	} {
		if got := safeText(in); got != want {
			t.Errorf("safeText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := safeLines("one\x1b\ntwo\n"); got != "one\\x1b\ntwo\n" {
		t.Errorf("safeLines = %q", got)
	}
}
