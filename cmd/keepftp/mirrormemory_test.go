package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestMirrorMemory measures the peak RSS of keepftp mirror -P 4 (with
// /usr/bin/time -v) over a tree of 100,000 files that is up to date: the
// binary serves a folder (keepftp serve) and mirrors it into that same
// folder, then from it (an upload), so that the walk and the run meet
// every file and copy none. It needs a binary built without the race detector, which
// multiplies memory: KEEPFTP_MIRROR_MEMORY_BIN=/path/to/keepftp. It fails
// above 60 MB: 100,000 files took 280 MB when each listed entry kept its
// MLSD facts and the run a result per file, 160 to 185 MB when the walk
// and the plan held a node and an action per file, 17 to 19 MB since the
// mirror runs folder by folder (one batch of transfers, and the listings
// of the folders the walk is in); an upload took 190 MB, 17 to 18 now.
//
// With --delete and --dry-run too, which planned the whole tree first
// (184 MB and 167 MB for the same tree, 17 to 19 MB now). Then a mirror
// of one folder of 100 files into a folder that holds 100,000 others
// (hard links to the served files, in 1,000 folders): they all go, and
// neither the list of deletes (kept on disk until the transfers are done)
// nor the lines that name them (printed as they are done) grow the run.
func TestMirrorMemory(t *testing.T) {
	bin := os.Getenv("KEEPFTP_MIRROR_MEMORY_BIN")
	if bin == "" {
		t.Skip("set KEEPFTP_MIRROR_MEMORY_BIN to a keepftp built without -race")
	}
	dir := t.TempDir()
	for d := range 1000 {
		sub := filepath.Join(dir, fmt.Sprintf("d%04d", d))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 100 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d.txt", f)), []byte{'x', byte('0' + f%10)}, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv := exec.Command(bin, "serve", "--root", dir, "--listen", addr)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("keepftp serve did not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	gone := filepath.Join(t.TempDir(), "gone")
	for d := range 1000 {
		sub := filepath.Join(gone, fmt.Sprintf("d%04d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 100 {
			name := fmt.Sprintf("d%04d/f%03d.txt", d, f)
			if err := os.Link(filepath.Join(dir, name), filepath.Join(gone, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	top := "ftp://" + addr + "/"
	for _, run := range []struct {
		args []string
		want string
	}{
		{[]string{top, dir}, "100000 files: 0 done, 0 unverified, 100000 up to date, 0 failed"},
		{[]string{dir, top}, "100000 files: 0 done, 0 unverified, 100000 up to date, 0 failed"},
		{[]string{"--delete", "--dry-run", top, dir}, "dry run: 0 to transfer (0 bytes), 100000 up to date, 0 folders to make, 0 to delete"},
		{[]string{"--dry-run", dir, top}, "dry run: 0 to transfer (0 bytes), 100000 up to date, 0 folders to make, 0 to delete"},
		{[]string{"--delete", dir, top}, "100000 files: 0 done, 0 unverified, 100000 up to date, 0 failed, 0 deleted"},
		{[]string{"--delete", top + "d0000/", gone}, "100 files: 100 done, 0 unverified, 0 up to date, 0 failed, 101000 deleted"},
	} {
		cmd := exec.Command("/usr/bin/time", append([]string{"-v", bin, "mirror", "-P", "4"}, run.args...)...)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		err = cmd.Run()
		m := regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`).FindStringSubmatch(errOut.String())
		if err != nil || m == nil {
			t.Fatalf("mirror %q: %v:\n%s", run.args, err, tail(errOut.String()))
		}
		if !bytes.Contains(errOut.Bytes(), []byte(run.want)) {
			t.Fatalf("mirror %q: no %q:\n%s", run.args, run.want, tail(errOut.String()))
		}
		kb, _ := strconv.Atoi(m[1])
		t.Logf("mirror %q: peak RSS %d MB", run.args, kb/1000)
		if kb > 60_000 {
			t.Errorf("mirror %q: peak RSS %d MB, want under 60", run.args, kb/1000)
		}
	}
	if left, err := os.ReadDir(gone); err != nil || len(left) != 100 {
		t.Errorf("%s holds %d entries (%v), want the 100 files of d0000 only", gone, len(left), err)
	}
}

// tail is the last lines of a command's output: a dry run or a delete
// prints one line per entry.
func tail(s string) string {
	if i := len(s) - 4000; i > 0 {
		return "..." + s[i:]
	}
	return s
}
