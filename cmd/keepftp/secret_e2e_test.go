package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// TestPasswordNeverShown runs the end-to-end suite's commands with a known
// password, given in the URL, in KEEPFTP_PASSWORD and in a netrc file, in
// every output mode (quiet, default, -v, --json) and in failures (a wrong
// password, a missing file, a dead server, a bad URL), and checks that the
// password appears in none of stdout and stderr, not even percent-encoded.
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
				run{e, append(append([]string{"put", local}, m...), append(extra, base.url+"/d/up.bin")...)},
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
	codes := map[int]int{}
	var mu sync.Mutex
	t.Run("runs", func(t *testing.T) {
		for i, r := range runs {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
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
