package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// What a sweep of hostile servers found, run as a user would.

// keepftp mirror of a tree in which each directory lists two
// subdirectories that are itself (2^depth directories) ends, exits 9 and
// says why, after 3 MLSDs.
func TestMirrorSelfTreeEndsExit9(t *testing.T) {
	f := ftptest.StartFake(t)
	f.MLST = true
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "MLSD" {
			return false
		}
		s.SendData([]byte("type=dir;modify=20240301120000; a\r\ntype=dir;modify=20240301120000; b\r\n"), "")
		return true
	}
	code, stdout, stderr := runKeepftp(t, nil, "mirror", "--timeout", "5s", "ftp://"+f.Addr()+"/t", t.TempDir())
	if code != ExitPartial {
		t.Errorf("exit %d, want %d\n%s%s", code, ExitPartial, stdout, stderr)
	}
	if n := strings.Count(stderr, "lists the same entries"); n != 2 {
		t.Errorf("stderr names the loop %d times, want 2 (a and b):\n%s", n, stderr)
	}
	if n := f.Count("MLSD"); n != 3 {
		t.Errorf("%d MLSDs, want 3", n)
	}
	t.Logf("stderr:\n%s", stderr)
}

// keepftp ls of a listing with one bad line prints the good lines, warns
// about the bad one with its control characters escaped, and exits 9 as
// a mirror that left entries out does (it exited 8 and printed nothing).
func TestLsBadLinePrintsTheRest(t *testing.T) {
	f := ftptest.StartFake(t)
	f.MLST = true
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "MLSD" {
			return false
		}
		s.SendData([]byte("type=file;size=1;modify=20240301120000; b\r\n"+
			"garbage \x1b[31mred\r\n"+
			"type=file;size=2;modify=20240301120000; a\r\n"), "")
		return true
	}
	code, stdout, stderr := runKeepftp(t, nil, "ls", "ftp://"+f.Addr()+"/d")
	if code != ExitPartial {
		t.Errorf("exit %d, want %d", code, ExitPartial)
	}
	if stdout != "a\nb\n" {
		t.Errorf("stdout %q, want the two good names, sorted", stdout)
	}
	if strings.Count(stderr, "warning") != 1 || !strings.Contains(stderr, `garbage \x1b[31mred`) || strings.Contains(stderr, "\x1b") {
		t.Errorf("stderr %q: want one warning naming the line, escaped", stderr)
	}
}

// keepftp ls of a listing longer than it sorts prints it as it arrives,
// in the server's order; a short one is sorted.
func TestLsLongListingStreams(t *testing.T) {
	f := ftptest.StartFake(t)
	var entries atomic.Int64 // set by the test, read by the server: another process in between is no happens-before edge
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "LIST" {
			return false
		}
		var b strings.Builder
		for i := entries.Load(); i > 0; i-- { // in reverse order
			fmt.Fprintf(&b, "-rw-r--r-- 1 ftp ftp 1 Mar  1  2024 f%06d\r\n", i)
		}
		s.SendData([]byte(b.String()), "")
		return true
	}
	addr := f.Addr()
	for _, n := range []int{3, lsSortMax + 1} {
		entries.Store(int64(n))
		code, stdout, stderr := runKeepftp(t, nil, "ls", "ftp://"+addr+"/d")
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if code != 0 || len(lines) != n {
			t.Fatalf("%d entries: exit %d, %d lines\n%s", n, code, len(lines), stderr)
		}
		first, last := lines[0], lines[n-1]
		if n == 3 && (first != "f000001" || last != "f000003") || n > 3 && (first != fmt.Sprintf("f%06d", n) || last != "f000001") {
			t.Errorf("%d entries: from %s to %s: want sorted for 3, the server's order beyond %d", n, first, last, lsSortMax)
		}
	}
}

// Warnings about a fact the server garbled were given at each look at the
// file: before the transfer, at the check after it, and again at each
// retry. Each is given once per file now: counted in the text log and in
// the --json events, for get (whose first RETR is cut, so that it
// retries) and mirror.
func TestWarningsGivenOnce(t *testing.T) {
	mod := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, sc := range []struct {
		name string
		mlst bool
		hook func(s *ftptest.FakeSession, verb, arg string) bool
		want []string // each warning (a part of it that JSON does not escape), once
	}{
		{"MDTM garbled", false, func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "MDTM" {
				s.Reply("213 garbage")
				return true
			}
			return false
		}, []string{"time-val"}},
		{"SIZE garbled", false, func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "SIZE" {
				s.Reply("213 lots")
				return true
			}
			return false
		}, []string{"SIZE reply", "unverified"}},
		{"MLST facts garbled", true, func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "MLST" {
				s.Reply("250-facts", " type=file;size=abc;modify=zz; "+arg, "250 end")
				return true
			}
			return false
		}, []string{"MLST size", "MLST modify"}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			f := ftptest.StartFake(t)
			f.MLST = sc.mlst
			var retrs atomic.Int64
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == "RETR" && arg == "/d/cut" && retrs.Add(1) == 1 {
					s.Reply("425 no data connection for you")
					return true
				}
				return sc.hook(s, verb, arg)
			}
			f.WriteFile("/d/cut", []byte("hello"), mod)
			for _, args := range [][]string{
				{"get", "--retry-max-delay", "10ms", "-o", filepath.Join(t.TempDir(), "a"), "ftp://" + f.Addr() + "/d/cut"},
				{"get", "--json", "--retry-max-delay", "10ms", "-o", filepath.Join(t.TempDir(), "a"), "ftp://" + f.Addr() + "/d/cut"},
				{"mirror", "ftp://" + f.Addr() + "/d", t.TempDir()},
				{"mirror", "--json", "ftp://" + f.Addr() + "/d", t.TempDir()},
			} {
				retrs.Store(0)
				code, stdout, stderr := runKeepftp(t, nil, args...)
				if code != 0 {
					t.Errorf("%v: exit %d\n%s", args, code, stderr)
				}
				var warnings []string
				for _, l := range strings.Split(stdout+stderr, "\n") {
					if strings.Contains(l, "warning") {
						warnings = append(warnings, l)
					}
				}
				for _, w := range sc.want {
					n := 0
					for _, l := range warnings {
						if strings.Contains(l, w) {
							n++
						}
					}
					if n != 1 {
						t.Errorf("%v: warning %q given %d times, want once:\n%s", args, w, n, strings.Join(warnings, "\n"))
					}
				}
			}
		})
	}
}

// keepftp get from a server that sends every transfer's 226 twice keeps
// the complete data: one RETR, the file's bytes once, one attempt, exit
// 0, checked (by size, or by hash where the server gives no size). The
// repeat ended the connection as out of step, so the check after the
// transfer failed; without a size, the next attempt fetched the whole file
// again from byte 0, and so on each time.
func TestDuplicate226KeepsTheData(t *testing.T) {
	for _, sizes := range []bool{true, false} {
		t.Run(fmt.Sprint("SIZE=", sizes), func(t *testing.T) {
			t.Parallel()
			f := ftptest.StartFake(t)
			f.Hash = !sizes
			data := ftptest.RandomBytes(300 << 10)
			f.WriteFile("/d/f", data, time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))
			var sent atomic.Int64
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				switch {
				case !sizes && (verb == "SIZE" || verb == "MDTM"):
					s.Reply("502 not here")
				case verb == "RETR":
					sent.Add(int64(len(data)) - s.Rest)
					s.SendDataThen(data[s.Rest:], "226 Transfer complete", "226 Transfer complete")
					s.Rest = 0
				default:
					return false
				}
				return true
			}
			dst := filepath.Join(t.TempDir(), "f")
			code, stdout, stderr := runKeepftp(t, nil, "get", "--json", "--retry-deadline", "10s", "-o", dst, "ftp://"+f.Addr()+"/d/f")
			if code != 0 || f.Count("RETR") != 1 || sent.Load() != int64(len(data)) {
				t.Errorf("exit %d, %d RETRs, %d bytes sent; want 0, 1 and the file's %d\n%s", code, f.Count("RETR"), sent.Load(), len(data), stderr)
			}
			checked := `"reason":"size"`
			if !sizes {
				checked = `"reason":"SHA-256"`
			}
			if strings.Contains(stdout, `"event":"retry"`) || !strings.Contains(stdout, `"event":"done"`) || !strings.Contains(stdout, checked) {
				t.Errorf("events: want done, checked (%s), and no retry:\n%s", checked, stdout)
			}
			if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
				t.Errorf("local file: %d bytes, %v", len(got), err)
			}
		})
	}
}

// keepftp get --require-verified from a server that gives no SIZE and no
// hash: nothing can check the file, so it stays NAME.part, NAME is not
// made, and the run exits 6. Without the flag the same download ends
// "complete (unverified)" with exit 0, as before. put with the flag exits
// 6 too (the upload stays on the server).
func TestRequireVerified(t *testing.T) {
	f := ftptest.StartFake(t)
	data := ftptest.RandomBytes(100 << 10)
	f.WriteFile("/d/f", data, time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "SIZE" {
			s.Reply("502 no SIZE here")
			return true
		}
		return false
	}
	url := "ftp://" + f.Addr() + "/d/f"
	dir := t.TempDir()
	dst := filepath.Join(dir, "f")
	code, _, stderr := runKeepftp(t, nil, "get", "--require-verified", "-o", dst, url)
	if code != ExitVerify {
		t.Errorf("--require-verified: exit %d, want %d\n%s", code, ExitVerify, stderr)
	}
	if got, err := os.ReadFile(dst + ".part"); err != nil || !bytes.Equal(got, data) {
		t.Errorf("f.part: %d bytes, %v; want the data kept", len(got), err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("f exists (%v): an unverified file must not take its name", err)
	}
	if !strings.Contains(stderr, "nothing could check") || !strings.Contains(stderr, "f.part") {
		t.Errorf("stderr does not say why, nor where the data is:\n%s", stderr)
	}

	dst2 := filepath.Join(t.TempDir(), "f")
	code, _, stderr = runKeepftp(t, nil, "get", "-o", dst2, url)
	if got, err := os.ReadFile(dst2); code != 0 || err != nil || !bytes.Equal(got, data) || !strings.Contains(stderr, "complete (unverified)") {
		t.Errorf("without the flag: exit %d, f %d bytes (%v); want 0 and the file, unverified\n%s", code, len(got), err, stderr)
	}

	up := filepath.Join(t.TempDir(), "up")
	os.WriteFile(up, data, 0o644)
	if code, _, stderr := runKeepftp(t, nil, "put", "--require-verified", up, "ftp://"+f.Addr()+"/d/up"); code != ExitVerify {
		t.Errorf("put --require-verified: exit %d, want %d\n%s", code, ExitVerify, stderr)
	}
}
