package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestLsMemory measures the peak RSS of keepftp ls (with /usr/bin/time -v)
// for listings up to and past the 64 MiB bound, and fails above 100 MB.
// It needs a binary built without the race detector, which multiplies
// memory: KEEPFTP_LS_MEMORY_BIN=/path/to/keepftp (bench/README.md has the
// command and the figures). Without it, there is nothing to measure.
func TestLsMemory(t *testing.T) {
	bin := os.Getenv("KEEPFTP_LS_MEMORY_BIN")
	if bin == "" {
		t.Skip("set KEEPFTP_LS_MEMORY_BIN to a keepftp built without -race (see bench/README.md)")
	}
	for _, tc := range []struct {
		name  string
		mlsd  bool
		bytes int
		line  func(i int) string
	}{
		{"MLSD past the bound (70 MiB)", true, 70 << 20, mlsdLine},
		{"MLSD 60 MiB", true, 60 << 20, mlsdLine},
		{"LIST 60 MiB", false, 60 << 20, func(i int) string {
			return fmt.Sprintf("-rw-r--r-- 1 ftp ftp %d Jan  1  2024 file-%08d.dat\r\n", i, i)
		}},
		{"60 KiB names, 60 MiB", true, 60 << 20, func(i int) string {
			return fmt.Sprintf("type=file;size=%d; %s%08d\r\n", i, strings.Repeat("n", 60000), i)
		}},
		{"99,999 entries (sorted)", true, 0, mlsdLine},
	} {
		var b bytes.Buffer
		for i := 0; tc.bytes > 0 && b.Len() < tc.bytes || tc.bytes == 0 && i < 99999; i++ {
			b.WriteString(tc.line(i))
		}
		data := b.Bytes()
		f := ftptest.StartFake(t)
		f.MLST = tc.mlsd
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "MLSD" || verb == "LIST" {
				s.SendData(data, "")
				return true
			}
			return false
		}
		cmd := exec.Command("/usr/bin/time", "-v", bin, "ls", "ftp://"+f.Addr()+"/d")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		m := regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`).FindStringSubmatch(errOut.String())
		if m == nil {
			t.Fatalf("%s: no RSS in /usr/bin/time's output (%v):\n%s", tc.name, err, errOut.String())
		}
		kb, _ := strconv.Atoi(m[1])
		t.Logf("%s: %d entries printed, peak RSS %d MB (%v)", tc.name, strings.Count(out.String(), "\n"), kb/1000, err)
		if kb > 100_000 {
			t.Errorf("%s: peak RSS %d MB, want under 100", tc.name, kb/1000)
		}
	}
}

func mlsdLine(i int) string {
	return fmt.Sprintf("type=file;size=%d;modify=20240101000000;unique=%x; file-%08d.dat\r\n", i, i, i)
}
