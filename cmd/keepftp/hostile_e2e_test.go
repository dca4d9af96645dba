package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// Hostile and broken servers are tested where they are handled: resume's
// hostile_test.go (short data, lying sizes, garbled facts, no facts at
// all, a silent overlap) and the root package's mirror_hostile_test.go
// (hostile names, 550 folders, loops, partial-looking names). The command
// line adds exit codes and what it prints: one end-to-end case here.
// Scenarios this file had and where they are now:
//   - a cut with no facts reads "unverified", never "checked by size":
//     resume.TestGetWithoutAnyFactIsReportedUnverified; the CLI's text and
//     JSON (status, no verified event): TestSummaryCountsUnverified,
//     TestGetRemoveSourceUnverified;
//   - a server always short uses up --retries (3 RETRs): resume's
//     TestGetServerThatAlwaysStopsShortExhaustsRetries; exit 5:
//     TestExitCodes ("gave up");
//   - an interrupt while the overlap is read returns at once, the partial
//     kept: resume.TestGetCancelDuringOverlapReadIsPrompt; exit 130 from a
//     stalled data connection: TestSignalEndsEveryCommand/get/data-stall.

// keepftp mirror against a server whose tree has a directory that answers
// 550, a name with CR LF in it and files named like keepftp's partials:
// everything else is copied, each problem is reported, the exit code is 9.
func TestMirrorHostileTreeExits9(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.MLST = true
	mod := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	files := map[string][]byte{}
	for _, name := range []string{"data", "data.part", "data.part.keepftp", "sub/b"} {
		files[name] = ftptest.RandomBytes(5000 + len(name))
		f.WriteFile("/t/"+name, files[name], mod)
	}
	f.WriteFile("/t/victim", []byte("must survive"), mod)
	f.WriteFile("/t/denied/x", []byte("x"), mod)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch {
		case verb == "MLSD" && arg == "/t/denied":
			s.Reply("550 permission denied")
			return true
		case verb == "MLSD" && arg == "/t":
			var b bytes.Buffer
			for _, name := range []string{"data", "data.part", "data.part.keepftp", "victim"} {
				ff, _ := f.File("/t/" + name)
				fmt.Fprintf(&b, "type=file;size=%d;modify=20240301120000; %s\r\n", len(ff.Data), name)
			}
			b.WriteString("type=file;size=3;modify=20240301120000; evil\rDELE /t/victim\r\n")
			b.WriteString("type=dir;modify=20240301120000; sub\r\ntype=dir;modify=20240301120000; denied\r\n")
			s.SendData(b.Bytes(), "")
			return true
		}
		return false
	}
	for _, mode := range []string{"text", "json"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := []string{"mirror", "--timeout", "5s", "-P", "4", "--retries", "1"}
			if mode == "json" {
				args = append(args, "--json")
			}
			code, stdout, stderr := runKeepftp(t, nil, append(args, "ftp://"+f.Addr()+"/t", dir)...)
			if code != ExitPartial {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitPartial, stdout, stderr)
			}
			for name, data := range files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("%s: %v, %d bytes, want the remote file's %d", name, err, len(got), len(data))
				}
			}
			if n := f.Count("DELE"); n != 0 {
				t.Fatalf("%d DELE reached the server", n)
			}
			out := stderr + stdout
			for _, want := range []string{"550 permission denied", `evil\rDELE`} {
				if !strings.Contains(out, want) {
					t.Errorf("output does not report %q:\n%s", want, out)
				}
			}
			if mode == "json" && checkJSONEvents(t, []byte(stdout))["warning"] != 2 {
				t.Errorf("want 2 warning events:\n%s", stdout)
			}
			if _, err := os.Stat(filepath.Join(dir, ".keepftp")); !os.IsNotExist(err) {
				t.Errorf("the staging directory is left behind: %v", err)
			}
			if mode == "text" {
				t.Logf("exit %d, stderr:\n%s", code, stderr)
			}
		})
	}
}

// keepftp mirror prints the entries it left out before the files that
// failed, as when the whole tree was planned first, though the walk meets
// them after: a/f fails (550), then b's name with a CR is left out.
func TestMirrorPrintsLeftOutFirst(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.MLST = true
	mod := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	f.WriteFile("/t/a/f", []byte("f"), mod)
	f.WriteFile("/t/b/ok", []byte("ok"), mod)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch {
		case verb == "RETR" && strings.HasSuffix(arg, "a/f"):
			s.Reply("550 permission denied")
			return true
		case verb == "MLSD" && arg == "/t/b":
			s.SendData([]byte("type=file;size=2;modify=20240301120000; ok\r\ntype=file;size=3;modify=20240301120000; evil\rname\r\n"), "")
			return true
		}
		return false
	}
	code, stdout, stderr := runKeepftp(t, nil, "mirror", "--timeout", "5s", "-P", "2", "--retries", "1", "ftp://"+f.Addr()+"/t", t.TempDir())
	evil, failed := strings.Index(stderr, `evil\rname`), strings.Index(stderr, "550 permission denied")
	if code != ExitPartial || evil < 0 || failed < 0 || evil > failed {
		t.Fatalf("exit %d, want %d, the left-out name before the failed file:\nstdout:\n%s\nstderr:\n%s", code, ExitPartial, stdout, stderr)
	}
}
