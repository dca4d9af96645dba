package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// TestPasswordNeverShown runs the end-to-end suite's commands with a known
// password, given in the URL, in KEEPFTP_PASSWORD and in a netrc file, in
// every output mode (quiet, default, -v, --json) and in failures (a wrong
// password, a missing file, a dead server, a bad URL), and checks that the
// password appears in none of stdout and stderr, not even percent-encoded.
// It runs them against a server that echoes the password too: in its
// login reply and its refusal of a wrong one, in error replies, a garbled
// fact, NOOP and transfer replies, a file name and (from its second
// connection on) its greeting.
func TestPasswordNeverShown(t *testing.T) {
	t.Parallel()
	const user, pass = "alice", "Pw-7f3k9Zq-secret"
	const wrong = "Wrong-9Qz-pass"
	srv := ftptest.StartServer(t, testserver.Options{Users: map[string]string{user: pass}})
	srv.WriteFile("/d/a.bin", ftptest.RandomBytes(64<<10))
	srv.WriteFile("/d/b.bin", ftptest.RandomBytes(32<<10))
	dir := t.TempDir()
	local := filepath.Join(dir, "up.bin")
	os.WriteFile(local, ftptest.RandomBytes(16<<10), 0o644)
	netrc := filepath.Join(dir, "netrc")
	os.WriteFile(netrc, []byte("machine 127.0.0.1 login "+user+" password "+pass+"\n"), 0o600)
	withPass := "ftp://" + user + ":" + pass + "@" + srv.Addr()
	wrongPass := "ftp://" + user + ":" + wrong + "@" + srv.Addr()
	noPass := "ftp://" + user + "@" + srv.Addr()
	env := []string{"KEEPFTP_PASSWORD=" + pass}
	out := func(name string) string { return filepath.Join(t.TempDir(), name) }
	uploads := 0
	up := func() string { uploads++; return fmt.Sprintf("up%d.bin", uploads) } // one name per run: they run in parallel

	type run struct {
		env  []string
		args []string
	}
	var runs []run
	modes := [][]string{{"-q"}, {}, {"-v"}, {"--json"}}
	for _, m := range modes {
		for _, base := range []struct {
			env []string
			url string
		}{{nil, withPass}, {env, noPass}, {nil, "ftp://" + srv.Addr()}} {
			e := base.env
			extra := []string{"--netrc-file", netrc}
			runs = append(runs,
				run{e, append(append([]string{"get", "-o", out("a")}, m...), append(extra, base.url+"/d/a.bin")...)},
				run{e, append(append([]string{"get", "-P", "2", "-o", out("pat")}, m...), append(extra, base.url+"/d/*.bin")...)},
				run{e, append(append([]string{"put", local}, m...), append(extra, base.url+"/d/"+up())...)},
				run{e, append(append([]string{"mirror"}, m...), append(extra, base.url+"/d/", out("m"))...)},
				run{e, append(append([]string{"get", "--retries", "0", "-o", out("x")}, m...), append(extra, base.url+"/d/missing.bin")...)},
			)
			if len(m) == 0 || m[0] != "-q" { // ls and doctor have no -q
				runs = append(runs,
					run{e, append(append([]string{"ls"}, m...), append(extra, base.url+"/d/")...)},
					run{e, append(append([]string{"ls", "-l"}, m...), append(extra, base.url+"/d/")...)},
					run{e, append(append([]string{"doctor", "--timeout", "5s"}, m...), append(extra, base.url+"/d/a.bin")...)},
				)
			}
		}
		// Failures: a refused login, a server that is not there, bad URLs.
		runs = append(runs,
			run{nil, append(append([]string{"get", "--retries", "0", "-o", out("w")}, m...), wrongPass+"/d/a.bin")},
			run{[]string{"KEEPFTP_PASSWORD=" + wrong}, append(append([]string{"get", "--retries", "0", "-o", out("w")}, m...), noPass+"/d/a.bin")},
			run{nil, append(append([]string{"get", "--retries", "1", "--retry-max-delay", "1s", "-o", out("d")}, m...), "ftp://"+user+":"+pass+"@127.0.0.1:1/d/a.bin")},
			run{nil, append(append([]string{"get", "-o", out("p")}, m...), withPass+":99999/d/a.bin")},
			run{nil, append(append([]string{"get", "-o", out("p")}, m...), withPass+"/d/a%0D%0A.bin")},
			run{nil, append(append([]string{"ls"}, m...), "ftp://"+user+":"+pass+"@/d/")},
		)
	}
	// Two such servers, so that each hears one password only: a greeting
	// can echo only what the same client sent before.
	echoURL := "ftp://" + user + ":" + pass + "@" + echoingServer(t, pass).Addr()
	echoWrong := "ftp://" + user + ":" + wrong + "@" + echoingServer(t, pass).Addr()
	for _, m := range modes {
		for _, a := range [][]string{
			{"get", "-o", out("e")}, {"get", "-P", "2", "-o", out("epat")}, {"put", local}, {"mirror"},
			{"get", "--retries", "0", "-o", out("ex")}, {"ls"}, {"ls", "-l"}, {"doctor", "--timeout", "5s"},
			{"wrong", "get", "--retries", "0", "-o", out("ew")}, {"wrong", "ls"}, {"wrong", "doctor", "--timeout", "5s"},
		} {
			if (a[0] == "ls" || a[0] == "doctor" || len(a) > 1 && (a[1] == "ls" || a[1] == "doctor")) && len(m) > 0 && m[0] == "-q" {
				continue // ls and doctor have no -q
			}
			base, path := echoURL, map[string]string{"get": "/e/a.bin", "put": "/e/" + up(), "mirror": "/e/", "ls": "/e/", "doctor": "/e/a.bin"}[a[0]]
			switch {
			case a[0] == "wrong":
				base, a, path = echoWrong, a[1:], "/e/a.bin"
				if a[0] == "ls" {
					path = "/e/"
				}
			case a[0] == "get" && len(a) > 2 && a[1] == "-P":
				path = "/e/*.bin"
			case a[0] == "get" && a[1] == "--retries":
				path = "/e/missing.bin"
			}
			args := append(append([]string{}, a...), m...)
			if a[0] == "mirror" {
				args = append(args, base+path, out("em"))
			} else {
				args = append(args, base+path)
			}
			runs = append(runs, run{nil, args})
		}
	}
	var mu sync.Mutex
	codes := map[int]int{}
	t.Run("runs", func(t *testing.T) {
		for i, r := range runs {
			t.Run(fmt.Sprint(i, r.args[0]), func(t *testing.T) {
				t.Parallel()
				code, stdout, stderr := runKeepftp(t, r.env, r.args...)
				mu.Lock()
				codes[code]++
				mu.Unlock()
				for _, secret := range []string{pass, wrong, "Pw-7f3k9Zq", "9Qz-pass"} {
					if strings.Contains(stdout, secret) || strings.Contains(stderr, secret) {
						t.Errorf("keepftp %v (exit %d) shows a password:\nstdout: %s\nstderr: %s", r.args, code, stdout, stderr)
					}
				}
			})
		}
	})
	// The runs did what they are meant to: most succeed, and each kind of
	// failure happened.
	for _, want := range []int{ExitOK, ExitUsage, ExitLogin, ExitNotFound, ExitGaveUp} {
		if codes[want] == 0 {
			t.Errorf("no run exited %d: %v", want, codes)
		}
	}
	t.Logf("%d runs, exit codes %v", len(runs), codes)
}

// echoingServer is a Fake that echoes the password it was sent wherever
// it can.
func echoingServer(t *testing.T, pass string) *ftptest.Fake {
	f := ftptest.StartFake(t)
	f.MLST = true
	var heard atomic.Value // the last password sent
	heard.Store("")
	said := func() string { return heard.Load().(string) }
	f.Greeting = func() []string { return []string{"220 welcome back, your password was " + said()} }
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch verb {
		case "PASS":
			heard.Store(arg)
			if arg != pass {
				s.Reply("530 Login incorrect for password " + arg)
			} else {
				s.Reply("230-Logged in with password "+arg, "230 ("+url.QueryEscape(arg)+")")
			}
		case "MDTM":
			s.Reply("213 " + said()) // a garbled fact
		case "NOOP":
			s.Reply("200 still here, " + said())
		case "SIZE", "RETR":
			if _, ok := f.File(arg); ok {
				return false
			}
			s.Reply("550 " + arg + ": no such file for password " + said())
		default:
			return false
		}
		return true
	}
	now := time.Now().Add(-time.Hour)
	f.WriteFile("/e/a.bin", ftptest.RandomBytes(48<<10), now)
	f.WriteFile("/e/b.bin", ftptest.RandomBytes(16<<10), now)
	f.WriteFile("/e/"+pass+".txt", []byte("a name that is the password"), now)
	return f
}
