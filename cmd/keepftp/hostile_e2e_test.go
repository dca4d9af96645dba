package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// keepftp mirror against a server whose tree has a directory that answers
// 550, a name with CR LF in it and files named like keepftp's partials:
// everything else is copied, each problem is reported, the exit code is 9.
func TestMirrorHostileTreeExits9(t *testing.T) {
	bin := keepftpBinary(t)
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
			dir := t.TempDir()
			args := []string{"mirror", "--timeout", "5s", "-P", "4", "--retries", "1"}
			if mode == "json" {
				args = append(args, "--json")
			}
			cmd := exec.Command(bin, append(args, "ftp://"+f.Addr()+"/t", dir)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != ExitPartial {
				t.Fatalf("exit %v, want %d\nstdout:\n%s\nstderr:\n%s", err, ExitPartial, stdout.String(), stderr.String())
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
			out := stderr.String() + stdout.String()
			for _, want := range []string{"550 permission denied", `evil\rDELE`} {
				if !strings.Contains(out, want) {
					t.Errorf("output does not report %q:\n%s", want, out)
				}
			}
			if mode == "json" && checkJSONEvents(t, stdout.Bytes())["warning"] != 2 {
				t.Errorf("want 2 warning events:\n%s", stdout.String())
			}
			if _, err := os.Stat(filepath.Join(dir, ".keepftp")); !os.IsNotExist(err) {
				t.Errorf("the staging directory is left behind: %v", err)
			}
			if mode == "text" {
				t.Logf("exit %d, stderr:\n%s", ee.ExitCode(), stderr.String())
			}
		})
	}
}

// A server without SIZE, MDTM or MLST cuts the data short and says 226:
// the summary says unverified, never "checked by size".
func TestGetTruncatedWithoutFactsSaysUnverified(t *testing.T) {
	bin := keepftpBinary(t)
	f := ftptest.StartFake(t)
	data := ftptest.RandomBytes(50000)
	f.WriteFile("/f", data, time.Now())
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch verb {
		case "SIZE", "MDTM":
			s.Reply("502 not implemented")
			return true
		case "RETR":
			s.SendData(data[:20000], "226 transfer complete")
			return true
		}
		return false
	}
	dst := filepath.Join(t.TempDir(), "f")
	out, err := exec.Command(bin, "get", "--timeout", "5s", "-o", dst, "ftp://"+f.Addr()+"/f").CombinedOutput()
	if err != nil {
		t.Fatalf("get: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "unverified") || strings.Contains(string(out), "checked by size") {
		t.Errorf("output does not say unverified:\n%s", out)
	}
	jout, err := exec.Command(bin, "get", "--fresh", "--json", "--timeout", "5s", "-o", dst, "ftp://"+f.Addr()+"/f").Output()
	if err != nil {
		t.Fatalf("get --json: %v\n%s", err, jout)
	}
	if !strings.Contains(string(jout), `"status":"complete (unverified)"`) || checkJSONEvents(t, jout)["verified"] != 0 {
		t.Errorf("events do not say unverified:\n%s", jout)
	}
	t.Logf("%s", out)
}

// A server whose SIZE is larger than the data it sends: every resume
// re-reads the overlap and gets nothing new; --retries 2 ends it after 3
// RETRs with exit 5 (it was 74 RETRs in 60 s).
func TestGetServerAlwaysShortExhaustsRetries(t *testing.T) {
	bin := keepftpBinary(t)
	f := ftptest.StartFake(t)
	data := ftptest.RandomBytes(50000)
	f.WriteFile("/f", data, time.Now())
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "SIZE" {
			s.Reply(fmt.Sprintf("213 %d", len(data)+5000))
			return true
		}
		return false
	}
	dst := filepath.Join(t.TempDir(), "f")
	out, err := exec.Command(bin, "get", "--timeout", "5s", "--retries", "2", "--retry-max-delay", "10ms", "-o", dst, "ftp://"+f.Addr()+"/f").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitGaveUp {
		t.Fatalf("exit %v, want %d\n%s", err, ExitGaveUp, out)
	}
	if n := f.Count("RETR"); n != 3 {
		t.Errorf("%d RETRs, want 3: one that moved the data, 2 retries without progress\n%s", n, out)
	}
}

// SIGINT while a resume reads its overlap from a server that sends
// nothing after its 150: keepftp exits 130 at once, not after the 60 s
// timeout, and the partial file stays as it was.
func TestInterruptDuringOverlapReadExits130(t *testing.T) {
	bin := keepftpBinary(t)
	f := ftptest.StartFake(t)
	data := ftptest.RandomBytes(64 << 10)
	mod := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	f.WriteFile("/f", data, mod)
	retr := make(chan struct{}, 1)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "RETR" {
			return false
		}
		d, err := s.Data()
		if err != nil {
			return false
		}
		s.Reply("150 here it comes")
		retr <- struct{}{}
		ftptest.DiscardData(d) // silent until the client closes it
		return true
	}
	dst := filepath.Join(t.TempDir(), "f")
	url := "ftp://" + f.Addr() + "/f"
	os.WriteFile(dst+".part", data[:30000], 0o644)
	state := fmt.Sprintf(`{"version":1,"url":%q,"remote":{"size":%d,"modtime":%q}}`, url, len(data), mod.Format(time.RFC3339))
	os.WriteFile(dst+".part.keepftp", []byte(state), 0o644)
	cmd := exec.Command(bin, "get", "-q", "-o", dst, url) // the default 60 s timeout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-retr:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no RETR\n%s", stderr.String())
	}
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitInterrupted {
		t.Fatalf("exit %v, want %d\n%s", err, ExitInterrupted, stderr.String())
	}
	if took > 15*time.Second {
		t.Errorf("exit %v after SIGINT: the overlap read ignored it", took)
	}
	if st, err := os.Stat(dst + ".part"); err != nil || st.Size() != 30000 {
		t.Errorf("the partial file changed: %v", err)
	}
	t.Logf("exit %d %v after SIGINT", ee.ExitCode(), took)
}
