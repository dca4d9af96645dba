package main

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
	"github.com/spf13/afero"
	"github.com/urfave/cli/v2"
)

// TestBadCommandLinesExit2: every kind of bad command line exits 2 with a
// message naming what is wrong, and nothing connects to the server.
func TestBadCommandLinesExit2(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	addr := f.Addr()
	url := "ftp://" + addr + "/f"
	local := filepath.Join(t.TempDir(), "local.bin")
	os.WriteFile(local, []byte("x"), 0o644)
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"get", "--timeout", "5", url}, "--timeout 5: a duration needs a unit"},
		{[]string{"get", url, "--timeout=5"}, "--timeout 5: a duration needs a unit"},
		{[]string{"get", "--retries", "abc", url}, "--retries abc: not a whole number"},
		{[]string{"get", "--retries", "-1", url}, "--retries -1"},
		{[]string{"get", "--bogus", url}, "unknown flag --bogus for get"},
		{[]string{"get", url, "-Z"}, "unknown flag -Z for get"},
		{[]string{"get", url, "-qZ"}, "unknown flag -qZ for get"},
		{[]string{"get", "-qP", "0", url}, "-P 0: want 1 to 256"},
		{[]string{"get", "--segments", "4", "-o", "-", url}, "--segments and -o - do not go together"},
		// (What /dev/stdout is, "a FIFO (descriptor 1)" under go test,
		// is this process's standard output's: a terminal with go test -v
		// in a package's directory.)
		{[]string{"get", "--segments", "4", "-o", "/dev/stdout", url}, "--segments and -o /dev/stdout do not go together: "},
		{[]string{"get", "--json", "-o", "/dev/stdout", url}, "both want standard output"},
		{[]string{"bogus", url}, `unknown command "bogus"`},
		{[]string{}, "no command (commands: get, put"},
		{[]string{"--bogus", "get", url}, "unknown flag --bogus"},
		{[]string{"get", "ftp://" + addr[:strings.LastIndexByte(addr, ':')] + ":0/f"}, "port 0 (want 1-65535)"},
		{[]string{"get", "ftp://127.0.0.1:99999/f"}, "port 99999 (want 1-65535)"},
		{[]string{"get", "ftp://127.0.0.1:-5/f"}, "bad URL"},
		{[]string{"get", "ftp:///f"}, "no host"},
		{[]string{"get", "http://" + addr + "/f"}, `scheme "http"`},
		{[]string{"get", "/f"}, `scheme ""`},
		{[]string{"get"}, "get takes at least one URL"},
		{[]string{"get", "-P", "0", url}, "-P 0: want 1 to 256"},
		{[]string{"get", "--parallel=100000", url}, "--parallel 100000: want 1 to 256"},
		{[]string{"get", "--limit-rate", "0", url}, "bad rate"},
		{[]string{"get", "--limit-rate", "fast", url}, "bad rate"},
		{[]string{"get", "--keepalive", "-1s", url}, "--keepalive -1s: must not be negative"},
		{[]string{"get", "--retry-deadline", "5", url}, "--retry-deadline 5: a duration needs a unit"},
		{[]string{"get", "--retry-max-delay", "0s", url}, "--retry-max-delay 0s: must be more than 0"},
		{[]string{"get", "--no-verify=maybe", url}, "--no-verify=maybe: want true or false"},
		{[]string{"get", url, "-o"}, "-o needs a value"},
		{[]string{"get", "--json", "-o", "-", url}, "-o - and --json both want standard output"},
		{[]string{"ls", "--timeout", "0s", url}, "--timeout 0s: must be more than 0"},
		{[]string{"ls", url, url}, "ls takes one URL"},
		{[]string{"put", local, "ftp://" + addr + ":70000/f"}, "port 70000"},
		{[]string{"put", "-P", "x", local, url}, "-P x: not a whole number"},
		{[]string{"mirror", "--retry-max-delay", "1x", url, dir}, "--retry-max-delay 1x: not a duration"},
		{[]string{"mirror", "ftp://h:0/", dir}, "port 0"},
		{[]string{"doctor", "--max-idle", "abc", url}, "--max-idle abc: not a duration"},
		{[]string{"doctor", "--timeout", "15", url}, "--timeout 15: a duration needs a unit"},
		{[]string{"doctor", "ftp://" + addr + ":0/"}, "port 0"},
		{[]string{"completion", "tcsh"}, "completion takes bash, zsh or fish"},
	}
	// The whole class: every numeric or duration flag of every command,
	// given a word, is refused and named.
	for _, c := range newApp(io.Discard, io.Discard).Commands {
		for _, fl := range c.Flags {
			switch fl.(type) {
			case *cli.DurationFlag, *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag, *cli.Float64Flag:
				name := flagSpelling(fl.Names()[0])
				cases = append(cases, struct {
					args []string
					want string
				}{[]string{c.Name, name, "abc", url}, name + " abc: not a"})
			}
		}
	}
	for _, c := range cases {
		code, _, stderr := runKeepftp(t, nil, c.args...)
		if code != ExitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("keepftp %s: exit %d, stderr %q; want exit 2 saying %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
		if strings.Count(stderr, "\n") > 2 {
			t.Errorf("keepftp %s: %d lines on stderr, want a short message:\n%s", strings.Join(c.args, " "), strings.Count(stderr, "\n"), stderr)
		}
	}
	if log := f.Log(); len(log) > 0 {
		t.Errorf("a bad command line reached the server: it received %q", log)
	}
}

// TestFlagsAnywhere: flags before or after the URLs, in either spelling,
// and "--" ending the flags, the way curl, wget and lftp users type them.
func TestFlagsAnywhere(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	payload := ftptest.RandomBytes(100 << 10)
	srv.WriteFile("/d/f.bin", payload)
	url := "ftp://" + srv.Addr() + "/d/f.bin"
	dir := t.TempDir()
	for i, args := range [][]string{
		{"get", url, "-o", "OUT"},
		{"get", "-o", "OUT", url},
		{"get", url, "--output=OUT", "-q"},
		{"get", "-q", url, "--timeout", "10s", "-o", "OUT", "--retries=3"},
		{"get", "-qo", "OUT", url}, // getopt's clusters, as in curl -sSo FILE
		{"get", "-qoOUT", url},
	} {
		out := filepath.Join(dir, "out"+string(rune('a'+i)))
		for j := range args {
			if args[j] == "OUT" {
				args[j] = out
			}
			args[j] = strings.Replace(args[j], "=OUT", "="+out, 1)
			args[j] = strings.Replace(args[j], "-qoOUT", "-qo"+out, 1)
		}
		code, _, stderr := runKeepftp(t, nil, args...)
		got, err := os.ReadFile(out)
		if code != 0 || err != nil || sha256.Sum256(got) != sha256.Sum256(payload) {
			t.Errorf("%v: exit %d, %v\n%s", args, code, err, stderr)
		}
	}
	// ls with its flags after the URL; -lq is not a word of ls's, -l after.
	code, stdout, stderr := runKeepftp(t, nil, "ls", "ftp://"+srv.Addr()+"/d/", "-l")
	if code != 0 || !strings.Contains(stdout, "f.bin") || !strings.HasPrefix(stdout, "file") && !strings.Contains(stdout, "102400") {
		t.Errorf("ls URL -l: exit %d %q %q", code, stdout, stderr)
	}
	code, stdout, _ = runKeepftp(t, nil, "ls", "ftp://"+srv.Addr()+"/d/", "--json")
	if code != 0 || !strings.Contains(stdout, `"name":"f.bin"`) {
		t.Errorf("ls URL --json: exit %d %q", code, stdout)
	}
	// --help after a URL is still help.
	code, stdout, _ = runKeepftp(t, nil, "get", url, "--help")
	if code != 0 || !strings.Contains(stdout, "--output") {
		t.Errorf("get URL --help: exit %d %q", code, stdout)
	}
}

// TestDashDashEndsFlags: -- ends the flags: a local file named like a
// flag, given by a relative name, is uploaded. (The test changes this
// process's directory: it runs alone, before the parallel tests.)
func TestDashDashEndsFlags(t *testing.T) {
	srv := ftptest.StartServer(t, testserver.Options{})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "-v"), []byte("dash"), 0o644)
	t.Chdir(dir)
	if code, _, stderr := runKeepftp(t, nil, "put", "-q", "--", "-v", "ftp://"+srv.Addr()+"/d/"); code != 0 {
		t.Fatalf("put -- -v: exit %d\n%s", code, stderr)
	}
	if got, err := afero.ReadFile(srv.Fs(), "/d/-v"); err != nil || string(got) != "dash" {
		t.Errorf("uploaded -v: %q %v", got, err)
	}
}

// TestJSONEventsBesideDataOnStdout: with -o -, stdout holds the file's
// bytes only; --json-file takes the events.
func TestJSONEventsBesideDataOnStdout(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	payload := ftptest.RandomBytes(300 << 10)
	srv.WriteFile("/f.bin", payload)
	events := filepath.Join(t.TempDir(), "events.jsonl")
	code, stdout, stderr := runKeepftp(t, nil, "get", "-o", "-", "--json", "--json-file", events, "ftp://"+srv.Addr()+"/f.bin")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if stdout != string(payload) {
		t.Fatalf("stdout is not the file: %d bytes, want %d", len(stdout), len(payload))
	}
	data, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	if kinds := checkJSONEvents(t, data); kinds["done"] != 1 || kinds["error"] != 0 {
		t.Errorf("events %v, want one done", kinds)
	}
}

// TestDoctorCredentials: doctor logs in the way get does: the URL,
// KEEPFTP_PASSWORD, --netrc-file; with none of them the login is refused
// (exit 3).
func TestDoctorCredentials(t *testing.T) {
	t.Parallel()
	const user, pass = "carol", "doctor-pw-51"
	srv := ftptest.StartServer(t, testserver.Options{Users: map[string]string{user: pass}})
	srv.WriteFile("/f.bin", ftptest.RandomBytes(4096))
	netrc := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(netrc, []byte("machine 127.0.0.1 login "+user+" password "+pass+"\n"), 0o600)
	empty := filepath.Join(t.TempDir(), "empty-netrc")
	os.WriteFile(empty, nil, 0o600)
	for _, c := range []struct {
		env  []string
		args []string
		want int
	}{
		{nil, []string{"ftp://" + user + ":" + pass + "@" + srv.Addr() + "/f.bin", "--netrc-file", empty}, ExitOK},
		{[]string{"KEEPFTP_PASSWORD=" + pass}, []string{"ftp://" + user + "@" + srv.Addr() + "/f.bin", "--netrc-file", empty}, ExitOK},
		{nil, []string{"ftp://" + srv.Addr() + "/f.bin", "--netrc-file", netrc}, ExitOK},
		{nil, []string{"--netrc-file", netrc, "ftp://" + user + "@" + srv.Addr() + "/f.bin"}, ExitOK},
		{nil, []string{"ftp://" + srv.Addr() + "/f.bin", "--netrc-file", empty}, ExitLogin},
		{[]string{"KEEPFTP_PASSWORD=wrong"}, []string{"ftp://" + user + "@" + srv.Addr() + "/f.bin", "--netrc-file", netrc}, ExitLogin},
	} {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runKeepftp(t, c.env, append([]string{"doctor", "--timeout", "5s"}, c.args...)...)
			if code != c.want {
				t.Errorf("doctor %v (env %v): exit %d, want %d\n%s%s", c.args, c.env, code, c.want, stdout, stderr)
			}
		})
	}
}
