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
// size, on a socket of the test's own, and returns a function that
// captures the pane's text.
func tmuxPane(t *testing.T, cols, rows int, line string) func() string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) (string, error) {
		out, err := exec.Command("tmux", append([]string{"-S", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := tmux("new-session", "-d", "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows), "sh", "-c", line+"; echo EXIT=$?; sleep 120"); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { tmux("kill-server") })
	return func() string {
		out, err := tmux("capture-pane", "-p")
		if err != nil {
			t.Fatalf("capture-pane: %v\n%s", err, out)
		}
		return out
	}
}

// TestProgressInTerminal: in a real terminal (tmux), get, put and mirror
// with -P 3 draw one line per active transfer, labelled with its local
// name, and a live total line; no line wraps or is drawn twice; at the end
// the bars are gone and the summary stands.
func TestProgressInTerminal(t *testing.T) {
	t.Parallel()
	bin := keepftpBinary(t)
	srv := ftptest.StartServer(t, testserver.Options{})
	const size = 1 << 20 // at 512 KiB/s: 2 s per file, all three at once
	src := t.TempDir()
	names := []string{"alpha.bin", "bravo.bin", "charlie.bin"}
	for _, n := range names {
		data := ftptest.RandomBytes(size)
		srv.WriteFile("/tree/"+n, data)
		os.WriteFile(filepath.Join(src, n), data, 0o644)
	}
	base := "ftp://" + srv.Addr()
	const cols = 100
	for _, c := range []struct{ name, line string }{
		{"get", fmt.Sprintf("%s get -P 3 --limit-rate 512K -o %s %s/tree/alpha.bin %s/tree/bravo.bin %s/tree/charlie.bin", bin, t.TempDir(), base, base, base)},
		{"put", fmt.Sprintf("%s put -P 3 --limit-rate 512K %s/alpha.bin %s/bravo.bin %s/charlie.bin %s/up/", bin, src, src, src, base)},
		{"mirror", fmt.Sprintf("%s mirror -P 3 --limit-rate 512K %s/tree/ %s", bin, base, t.TempDir())},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			capture := tmuxPane(t, cols, 30, c.line)
			var live, last string
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(last, "EXIT=") {
				if time.Now().After(deadline) {
					t.Fatalf("no end after 60 s; the pane:\n%s", last)
				}
				time.Sleep(100 * time.Millisecond)
				last = capture()
				if live == "" && allActive(last, names) {
					live = last
				}
			}
			if live == "" {
				t.Fatalf("never saw the three transfers and the total at once; the last screen:\n%s", last)
			}
			for _, l := range strings.Split(live, "\n") {
				if len([]rune(l)) >= cols {
					t.Errorf("a line fills the width (it would wrap): %q", l)
				}
			}
			if !strings.Contains(last, "EXIT=0") || !strings.Contains(last, "3 files: 3 done") {
				t.Errorf("the end:\n%s", last)
			}
			if strings.Contains(last, "%  ") || strings.Contains(last, "total  ") {
				t.Errorf("bars left behind at the end:\n%s", last)
			}
			t.Logf("live:\n%s", strings.TrimRight(live, "\n"))
		})
	}
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
