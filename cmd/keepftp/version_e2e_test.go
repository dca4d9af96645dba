package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// TestVersion: keepftp --version and keepftp version exit 0 and print one
// line with the Go version; both refuse operands (exit 2); --help lists
// --version.
func TestVersion(t *testing.T) {
	t.Parallel()
	var lines []string
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, stdout, stderr := runKeepftp(t, nil, args...)
		if code != ExitOK || stderr != "" {
			t.Fatalf("keepftp %v: exit %d, stderr %q", args, code, stderr)
		}
		if !strings.HasPrefix(stdout, "keepftp ") || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, " "+runtime.Version()+" ") {
			t.Errorf("keepftp %v printed %q: want one line with %s", args, stdout, runtime.Version())
		}
		lines = append(lines, stdout)
	}
	if lines[0] != lines[1] {
		t.Errorf("--version printed %q, version %q", lines[0], lines[1])
	}
	for _, args := range [][]string{{"--version", "x"}, {"version", "x"}} {
		if code, _, stderr := runKeepftp(t, nil, args...); code != ExitUsage || !strings.Contains(stderr, "version takes no arguments") {
			t.Errorf("keepftp %v: exit %d, stderr %q; want %d", args, code, stderr, ExitUsage)
		}
	}
	if _, stdout, _ := runKeepftp(t, nil, "--help"); !strings.Contains(stdout, "--version") {
		t.Errorf("--help does not list --version:\n%s", stdout)
	}
}

// TestVersionRevision: a binary built from a git clone (go build, which
// stamps the revision; a test binary carries none) names the commit it
// was built from, and its time, as git has them. In a linked git
// worktree (a .git file, not a directory) the Go toolchain stamps no
// revision (golang/go#58218), and outside a checkout there is none to
// stamp: there the line must say "revision unknown", not a wrong one.
func TestVersionRevision(t *testing.T) {
	t.Parallel()
	line := func() string {
		out, err := exec.Command(builtBinary(t), "version").Output()
		if err != nil {
			t.Fatalf("keepftp version: %v", err)
		}
		return string(out)
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		if l := line(); !strings.Contains(l, "(revision unknown)") {
			t.Errorf("not a git checkout (%v), yet the version line is %q", err, l)
		}
		return
	}
	if st, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !st.IsDir() {
		// What a linked worktree's build says is Go's (golang/go#58218):
		// not built here, as the build takes long and shows nothing of
		// keepftp's (TestFormatVersion covers a build without VCS facts).
		t.Skip("linked git worktree: Go stamps no revision")
	}
	out, err := exec.Command("git", "log", "-1", "--format=%H %ct").Output()
	if err != nil {
		t.Fatalf("git log: %v", err)
	}
	rev, secs, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	ct, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		t.Fatalf("git log %q: %v", out, err)
	}
	want := "(revision " + rev + ", " + time.Unix(ct, 0).UTC().Format(time.RFC3339)
	if l := line(); !strings.Contains(l, want) {
		t.Errorf("version line %q, want it to hold %q", l, want)
	}
}

// TestVersionStartsReports: doctor's report (text and JSON) and the -v log
// of doctor and get start with the version line.
func TestVersionStartsReports(t *testing.T) {
	t.Parallel()
	_, version, _ := runKeepftp(t, nil, "version")
	version = strings.TrimSpace(version)
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/f.bin", ftptest.RandomBytes(4096))
	url := "ftp://" + srv.Addr() + "/f.bin"
	netrc := filepath.Join(t.TempDir(), "empty-netrc")
	os.WriteFile(netrc, nil, 0o600)
	doctor := []string{"doctor", "--timeout", "5s", "--no-profile", "--netrc-file", netrc, url}
	// logStarts checks that the -v log on stderr starts with the version
	// line, and holds it once.
	logStarts := func(t *testing.T, stderr string) {
		first, _, _ := strings.Cut(stderr, "\n")
		if !strings.HasPrefix(first, "keepftp: ") || !strings.HasSuffix(first, " "+version) {
			t.Errorf("the -v log starts %q, want the version line %q", first, version)
		}
		if strings.Count(stderr, version) != 1 {
			t.Errorf("the version line is not in the log once:\n%s", stderr)
		}
	}
	// Each doctor run takes seconds of probing: the three run at once.
	t.Run("doctor", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runKeepftp(t, nil, doctor...)
		if first, _, _ := strings.Cut(stdout, "\n"); code != ExitOK || first != version {
			t.Errorf("doctor: exit %d, first line %q, want %q\n%s", code, first, version, stderr)
		}
	})
	t.Run("doctor --json -v", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runKeepftp(t, nil, append([]string{"doctor", "--json", "-v"}, doctor[1:]...)...)
		var report struct {
			Keepftp string `json:"keepftp"`
			Server  string `json:"server"`
		}
		if err := json.Unmarshal([]byte(stdout), &report); code != ExitOK || err != nil || report.Keepftp != version || report.Server == "" {
			t.Errorf("exit %d, %v, keepftp %q, want %q\n%s%s", code, err, report.Keepftp, version, stdout, stderr)
		}
		if !strings.HasPrefix(stdout, "{\n  \"keepftp\": ") {
			t.Errorf("the JSON report does not start with the version:\n%s", stdout)
		}
		logStarts(t, stderr)
	})
	t.Run("get -v", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := runKeepftp(t, nil, "get", "-v", "--no-profile", "--netrc-file", netrc, "-o", filepath.Join(t.TempDir(), "f.bin"), url)
		if code != ExitOK {
			t.Errorf("exit %d\n%s", code, stderr)
		}
		logStarts(t, stderr)
	})
}
