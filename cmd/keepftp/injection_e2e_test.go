package main

import (
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/internal/realserver"
)

// TestCommandInjectionRefused: a CR, LF or NUL smuggled into any part of
// the command line (a URL's path, pattern, user or password, the netrc
// file, KEEPFTP_PASSWORD, a line of an -i list) ends keepftp with exit 2
// and a message naming the part, before anything reaches the server, for
// get, ls, put, mirror, doctor and -i. The server is a real pyftpdlib with
// write permission: the victim file it would delete survives, and the
// password is never shown.
func TestCommandInjectionRefused(t *testing.T) {
	t.Parallel()
	rs := realserver.Start(t, realserver.Pyftpdlib, realserver.Options{})
	user, pass := rs.Login()
	victim := path.Join(rs.UploadDir, "up", "victim")
	if err := rs.WriteFile(victim, []byte("precious")); err != nil {
		t.Fatal(err)
	}
	rs.WriteFile(path.Join(rs.UploadDir, "up", "x"), []byte("x"))
	base := "ftp://" + url.UserPassword(user, pass).String() + "@" + rs.Addr
	inject := "%0D%0ADELE%20" + url.PathEscape(victim)
	dir := t.TempDir()
	local := filepath.Join(dir, "local.bin")
	os.WriteFile(local, []byte("upload"), 0o644)
	list := func(lines ...string) string {
		f := filepath.Join(t.TempDir(), "list.txt")
		os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		return f
	}
	netrcNUL := filepath.Join(t.TempDir(), "netrc")
	host := rs.Addr[:strings.LastIndexByte(rs.Addr, ':')]
	os.WriteFile(netrcNUL, []byte("machine "+strings.Trim(host, "[]")+" login "+user+" password "+pass+"\x00DELE\n"), 0o600)
	noPassURL := "ftp://" + url.User(user).String() + "@" + rs.Addr
	type tc struct {
		name string
		env  []string
		args []string
		want string // in stderr
	}
	var cases []tc
	for _, p := range []struct{ part, url, want string }{
		{"path CRLF", base + "/up/x" + inject, "the path holds a CR, LF or NUL"},
		{"path LF", base + "/up/x%0ADELE%20" + url.PathEscape(victim), "the path holds a CR, LF or NUL"},
		{"path NUL", base + "/up/x%00" + inject, "the path holds a CR, LF or NUL"},
		{"pattern", base + "/up/*" + inject, "the path holds a CR, LF or NUL"},
		{"user", "ftp://" + user + "%0D%0ADELE%20" + url.PathEscape(victim) + ":" + url.PathEscape(pass) + "@" + rs.Addr + "/up/x", "the user name holds a CR, LF or NUL"},
		{"password", "ftp://" + user + ":" + url.PathEscape(pass) + inject + "@" + rs.Addr + "/up/x", "the password holds a CR, LF or NUL"},
	} {
		dirURL := p.url
		cases = append(cases,
			tc{"get/" + p.part, nil, []string{"get", "-o", filepath.Join(dir, "out"), p.url}, p.want},
			tc{"ls/" + p.part, nil, []string{"ls", dirURL}, p.want},
			tc{"put/" + p.part, nil, []string{"put", local, p.url}, p.want},
			tc{"mirror/" + p.part, nil, []string{"mirror", dirURL, filepath.Join(dir, "m")}, p.want},
			tc{"doctor/" + p.part, nil, []string{"doctor", p.url}, p.want},
			tc{"-i/" + p.part, nil, []string{"get", "-i", list("# hostile", p.url), "-o", dir}, "list.txt:2: bad URL: " + p.want[:strings.Index(p.want, " holds")]},
		)
	}
	cases = append(cases,
		tc{"-i/raw CR in a line", nil, []string{"get", "-i", list(base + "/up/x\rDELE " + victim), "-o", dir}, "list.txt:1: "},
		tc{"-i/NUL in a line", nil, []string{"get", "-i", list(base + "/up/x\x00DELE"), "-o", dir}, "list.txt:1: bad URL"},
		tc{"-i/NUL in a destination", nil, []string{"get", "-i", list(base + "/up/x out\x00x"), "-o", dir}, "list.txt:1: the destination holds a CR, LF or NUL"},
		tc{"KEEPFTP_PASSWORD", []string{"KEEPFTP_PASSWORD=" + pass + "\r\nDELE " + victim}, []string{"get", "-o", filepath.Join(dir, "out"), noPassURL + "/up/x"}, "KEEPFTP_PASSWORD holds a CR, LF or NUL"},
		tc{"KEEPFTP_PASSWORD/doctor", []string{"KEEPFTP_PASSWORD=" + pass + "\nDELE " + victim}, []string{"doctor", noPassURL + "/up/x"}, "KEEPFTP_PASSWORD holds a CR, LF or NUL"},
		tc{"netrc", nil, []string{"get", "--netrc-file", netrcNUL, "-o", filepath.Join(dir, "out"), "ftp://" + rs.Addr + "/up/x"}, "holds a CR, LF or NUL in its login or password"},
		tc{"netrc/ls", nil, []string{"ls", "ftp://" + rs.Addr + "/up/", "--netrc-file", netrcNUL}, "holds a CR, LF or NUL in its login or password"},
		tc{"netrc/doctor", nil, []string{"doctor", "--netrc-file", netrcNUL, "ftp://" + rs.Addr + "/up/x"}, "holds a CR, LF or NUL in its login or password"},
	)
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				code, stdout, stderr := runKeepftp(t, c.env, c.args...)
				if code != ExitUsage || !strings.Contains(stderr, c.want) {
					t.Errorf("exit %d, stderr %q; want exit 2 saying %q", code, stderr, c.want)
				}
				if strings.Contains(stdout+stderr, pass) {
					t.Errorf("the password is shown: %q %q", stdout, stderr)
				}
				if got, err := rs.ReadFile(victim); err != nil || string(got) != "precious" {
					t.Fatalf("the victim is gone or changed: %q %v\nserver log:\n%s", got, err, rs.Logs())
				}
			})
		}
	})
	if strings.Contains(rs.Logs(), "DELE") {
		t.Errorf("the server saw a DELE:\n%s", rs.Logs())
	}
}
