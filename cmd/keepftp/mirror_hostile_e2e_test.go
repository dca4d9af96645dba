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
