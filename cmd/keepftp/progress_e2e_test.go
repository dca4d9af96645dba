package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// tmuxPane runs a shell command line in a detached tmux session of a fixed
// size, on a socket of the test's own (the shell outlives a Ctrl-C to
// print the exit status), and returns a function that
// captures the pane's text and one that types keys into it.
func tmuxPane(t *testing.T, cols, rows int, line string) (capture func() string, sendKeys func(keys ...string)) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) (string, error) {
		out, err := exec.Command("tmux", append([]string{"-S", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := tmux("new-session", "-d", "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows), "sh", "-c", "trap : INT; "+line+"; echo EXIT=$?; sleep 120"); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { tmux("kill-server") })
	capture = func() string {
		out, err := tmux("capture-pane", "-p")
		if err != nil {
			t.Fatalf("capture-pane: %v\n%s", err, out)
		}
		return out
	}
	sendKeys = func(keys ...string) {
		if out, err := tmux(append([]string{"send-keys"}, keys...)...); err != nil {
			t.Fatalf("send-keys: %v\n%s", err, out)
		}
	}
	return capture, sendKeys
}

// TestProgressInTerminal: in a real terminal (tmux), get, put and mirror
// with -P 3 draw one line per active transfer, labelled with its local
// name, and a live total line; no line wraps or is drawn twice; a log line
// written while the bars are up (a cut download's retry) stands above
// them, whole; at the end, or at Ctrl-C (exit 130), the bars are gone and
// the summary stands, even when the terminal echoed keys typed meanwhile
// (each frame starts at the first column).
func TestProgressInTerminal(t *testing.T) {
	t.Parallel()
	bin := keepftpBinary(t)
	srv := ftptest.StartServer(t, testserver.Options{})
	// The first download from cut is reset after 512 KiB, a second in (the
	// server sends at 512 KiB/s: the cut comes after the bars are drawn,
	// not while the kernel's buffers fill): its retry is logged while the
	// three bars are up.
	cut := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 512 << 10, CutAfter: []int64{512 << 10}}})
	const size = 1 << 20 // at 512 KiB/s: 2 s per file, all three at once
	src := t.TempDir()
	names := []string{"alpha.bin", "bravo.bin", "charlie.bin"}
	for _, n := range names {
		data := ftptest.RandomBytes(size)
		srv.WriteFile("/tree/"+n, data)
		cut.WriteFile("/tree/"+n, data)
		os.WriteFile(filepath.Join(src, n), data, 0o644)
	}
	three := func(base string) string {
		return fmt.Sprintf("%s/tree/alpha.bin %s/tree/bravo.bin %s/tree/charlie.bin", base, base, base)
	}
	base, cutBase := "ftp://"+srv.Addr(), "ftp://"+cut.Addr()
	const cols = 100
	for _, c := range []struct {
		name, line string
		log        string // a line that must stand above the live bars
		typed      string // typed once the bars are up: the terminal echoes it below them
		interrupt  bool   // Ctrl-C once the bars are up (echoed as "^C")
	}{
		{name: "get", line: fmt.Sprintf("%s get -P 3 --limit-rate 512K -o %s %s", bin, t.TempDir(), three(base))},
		{name: "put", line: fmt.Sprintf("%s put -P 3 --limit-rate 512K %s/alpha.bin %s/bravo.bin %s/charlie.bin %s/up/", bin, src, src, src, base)},
		{name: "mirror", line: fmt.Sprintf("%s mirror -P 3 --limit-rate 512K %s/tree/ %s", bin, base, t.TempDir())},
		{name: "get with a retry", line: fmt.Sprintf("%s get -P 3 -o %s %s", bin, t.TempDir(), three(cutBase)), log: "attempt 1 failed after"},
		{name: "typed while drawing", line: fmt.Sprintf("%s get -P 3 --limit-rate 512K -o %s %s", bin, t.TempDir(), three(base)), typed: "typed while the bars are up"},
		{name: "interrupted", line: fmt.Sprintf("%s get -P 3 --limit-rate 512K -o %s %s", bin, t.TempDir(), three(base)), interrupt: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			capture, sendKeys := tmuxPane(t, cols, 30, c.line)
			var live, last string
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(last, "EXIT=") {
				if time.Now().After(deadline) {
					t.Fatalf("no end after 60 s; the pane:\n%s", last)
				}
				time.Sleep(100 * time.Millisecond)
				last = capture()
				if live == "" && allActive(last, names) && logAbove(last, c.log) {
					live = last
					if c.typed != "" {
						sendKeys("-l", c.typed)
					}
					if c.interrupt {
						sendKeys("C-c")
					}
				}
			}
			if live == "" {
				t.Fatalf("never saw the three transfers and the total at once (with %q above them); the last screen:\n%s", c.log, last)
			}
			for _, l := range strings.Split(live, "\n") {
				bar := strings.Contains(l, "%  ") || strings.HasPrefix(l, "total  ")
				if bar && len([]rune(l)) >= cols { // log lines above may wrap
					t.Errorf("a line fills the width (it would wrap): %q", l)
				}
				if strings.HasPrefix(l, "keepftp: ") && (strings.Contains(l, "%  ") || strings.Contains(l, "total  ")) {
					t.Errorf("a log line and a bar share a row (torn): %q", l)
				}
			}
			want := []string{"EXIT=0", "3 files: 3 done"}
			if c.interrupt {
				want = []string{"EXIT=130", "keepftp: interrupted"}
			}
			for _, w := range want {
				if !lineStarting(last, w) {
					t.Errorf("the end has no line that starts with %q:\n%s", w, last)
				}
			}
			if strings.Contains(last, "%  ") || strings.Contains(last, "total  ") {
				t.Errorf("bars left behind at the end:\n%s", last)
			}
			t.Logf("live:\n%s", strings.TrimRight(live, "\n"))
		})
	}
}

// lineStarting reports whether a line of screen starts with s: at the
// first column, not after what a frame left behind.
func lineStarting(screen, s string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, s) {
			return true
		}
	}
	return false
}

// logAbove reports whether a screen shows a line holding log (none: true)
// above the first bar line.
func logAbove(screen, log string) bool {
	if log == "" {
		return true
	}
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "%  ") {
			return false
		}
		if strings.HasPrefix(l, "keepftp: ") && strings.Contains(l, log) {
			return true
		}
	}
	return false
}

// allActive reports whether a screen shows each name on exactly one bar
// line and one total line that counts 3 files, below the bars.
func allActive(screen string, names []string) bool {
	lines := strings.Split(screen, "\n")
	totalAt := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "total  ") {
			if totalAt >= 0 || !strings.Contains(l, "of 3 files") && !strings.Contains(l, "of ? files") {
				return false
			}
			totalAt = i
		}
	}
	if totalAt < 0 {
		return false
	}
	for _, n := range names {
		count, at := 0, -1
		for i, l := range lines {
			if strings.Contains(l, n) && strings.Contains(l, "%") && strings.Contains(l, "/s") {
				count, at = count+1, i
			}
		}
		if count != 1 || at > totalAt {
			return false
		}
	}
	return true
}
