package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestLsMemory measures the peak RSS of keepftp ls (with /usr/bin/time -v)
// for listings up to and past the 64 MiB bound, and fails above 100 MB.
// It needs a binary built without the race detector, which multiplies
// memory: KEEPFTP_LS_MEMORY_BIN=/path/to/keepftp (.ci/run builds one;
// bench/README.md has the command and the figures). Without it, or
// without GNU time, there is nothing to measure: the test is skipped, or
// fails when CI=true. The child's own ru_maxrss (wait4) will not do: Go
// starts it with vfork, and until the exec it counts the test process's
// memory, the listings held here (over 600 MB under the race detector).
func TestLsMemory(t *testing.T) {
	bin := os.Getenv("KEEPFTP_LS_MEMORY_BIN")
	if bin == "" {
		nothingToMeasure(t, "set KEEPFTP_LS_MEMORY_BIN to a keepftp built without -race (see bench/README.md)")
	}
	if _, err := os.Stat(gnuTime); err != nil {
		nothingToMeasure(t, fmt.Sprintf("%v: GNU time (Debian package time) measures the peak RSS", err))
	}
	// The listings are built once, with appends (fmt under the race
	// detector took most of the test's time), and the smaller MLSD ones are
	// prefixes of the largest.
	mlsd70 := listing(70<<20, func(b []byte, i int) []byte {
		b = append(b, "type=file;size="...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ";modify=20240101000000;unique="...)
		b = strconv.AppendInt(b, int64(i), 16)
		b = append(b, "; file-"...)
		return append(pad8(b, i), ".dat\r\n"...)
	})
	list60 := listing(60<<20, func(b []byte, i int) []byte {
		b = append(b, "-rw-r--r-- 1 ftp ftp "...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, " Jan  1  2024 file-"...)
		return append(pad8(b, i), ".dat\r\n"...)
	})
	long := bytes.Repeat([]byte("n"), 60000)
	names60 := listing(60<<20, func(b []byte, i int) []byte {
		b = append(b, "type=file;size="...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(append(b, "; "...), long...)
		return append(pad8(b, i), "\r\n"...)
	})
	for _, tc := range []struct {
		name string
		mlsd bool
		data []byte
	}{
		{"MLSD past the bound (70 MiB)", true, mlsd70},
		{"MLSD 60 MiB", true, upTo(mlsd70, 60<<20)},
		{"LIST 60 MiB", false, list60},
		{"60 KiB names, 60 MiB", true, names60},
		{"99,999 entries (sorted)", true, firstLines(mlsd70, 99999)},
	} {
		f := ftptest.StartFake(t)
		f.MLST = tc.mlsd
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "MLSD" || verb == "LIST" {
				s.SendData(tc.data, "")
				return true
			}
			return false
		}
		cmd := exec.Command(gnuTime, "-v", bin, "ls", "ftp://"+f.Addr()+"/d")
		var lines lineCounter
		var errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &lines, &errOut
		err := cmd.Run()
		m := regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`).FindStringSubmatch(errOut.String())
		if m == nil {
			t.Fatalf("%s: no RSS in /usr/bin/time's output (%v):\n%s", tc.name, err, errOut.String())
		}
		kb, _ := strconv.Atoi(m[1])
		t.Logf("%s: %d entries printed, peak RSS %d MB (%v)", tc.name, lines, kb/1000, err)
		if kb > 100_000 {
			t.Errorf("%s: peak RSS %d MB, want under 100", tc.name, kb/1000)
		}
		if lines == 0 {
			t.Errorf("%s: nothing printed (%v):\n%s", tc.name, err, errOut.String())
		}
	}
}

// gnuTime is GNU time, whose -v reports the peak RSS.
const gnuTime = "/usr/bin/time"

// nothingToMeasure skips the test, or fails it when CI=true: .ci/run
// builds the binary and installs GNU time (.ci/install-servers).
func nothingToMeasure(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true: .ci/run builds the binary and sets KEEPFTP_LS_MEMORY_BIN, .ci/install-servers installs GNU time", why)
	}
	t.Skip(why)
}

// listing is lines line(0), line(1), ... up to size bytes.
func listing(size int, line func(b []byte, i int) []byte) []byte {
	b := make([]byte, 0, size+64<<10)
	for i := 0; len(b) < size; i++ {
		b = line(b, i)
	}
	return b
}

// upTo is data's first lines, up to the one that reaches size bytes.
func upTo(data []byte, size int) []byte {
	return data[:size+bytes.IndexByte(data[size:], '\n')+1]
}

// firstLines is data's first n lines.
func firstLines(data []byte, n int) []byte {
	end := 0
	for range n {
		end += bytes.IndexByte(data[end:], '\n') + 1
	}
	return data[:end]
}

// pad8 appends i in decimal, zero-padded to 8 digits.
func pad8(b []byte, i int) []byte {
	for d := 10_000_000; d > 1 && i < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(i), 10)
}

// lineCounter counts the lines written to it, holding none.
type lineCounter int

func (c *lineCounter) Write(p []byte) (int, error) {
	*c += lineCounter(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}
