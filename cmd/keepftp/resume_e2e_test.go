package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"

	"github.com/keepftp/keepftp/testserver"
)

// TestInterruptedGetResumes kills keepftp mid-download, with SIGINT (a
// clean stop: exit 130) and with SIGKILL (no chance to clean up). Either
// way NAME.part and its state stay, and a rerun completes the file while
// fetching only the missing bytes (plus the 4 KiB overlap that checks the
// resume point).
func TestInterruptedGetResumes(t *testing.T) {
	bin := keepftpBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			const size = 16 << 20
			payload := ftptest.RandomBytes(size)
			srv, err := testserver.Start(testserver.Options{Faults: testserver.Faults{RateLimit: 4 << 20}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			srv.WriteFile("/f.bin", payload)
			dst := filepath.Join(t.TempDir(), "f.bin")
			url := "ftp://" + srv.Addr() + "/f.bin"

			cmd := exec.Command(bin, "get", "-q", "--timeout", "5s", "-o", dst, url)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if _, err := srv.WaitStats(ctx, func(s testserver.Stats) bool { return s.BytesSent > 4<<20 }); err != nil {
				t.Fatal(err)
			}
			cmd.Process.Signal(sig)
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("keepftp was not stopped: %v", err)
			}
			if sig == syscall.SIGINT && ee.ExitCode() != ExitInterrupted {
				t.Errorf("exit code %d after SIGINT, want %d\n%s", ee.ExitCode(), ExitInterrupted, stderr.String())
			}
			part, err := os.Stat(dst + ".part")
			if err != nil || part.Size() == 0 || part.Size() >= size {
				t.Fatalf("partial file after %v: %v (%v bytes)", sig, err, part)
			}
			if _, err := os.Stat(dst + ".part.keepftp"); err != nil {
				t.Fatalf("state file after %v: %v", sig, err)
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Fatalf("%s exists although incomplete", dst)
			}

			srv.SetFaults(testserver.Faults{})
			// The killed session's last write may still be counted after
			// its control connection is gone: wait for that, and allow one
			// copy buffer of it below.
			if _, err := srv.WaitStats(ctx, func(s testserver.Stats) bool { return s.ActiveConns == 0 }); err != nil {
				t.Fatal(err)
			}
			sentBefore := srv.Stats().BytesSent
			rerun := exec.Command(bin, "get", "-q", "--timeout", "5s", "-o", dst, url)
			if out, err := rerun.CombinedOutput(); err != nil {
				t.Fatalf("rerun: %v\n%s", err, out)
			}
			got, _ := os.ReadFile(dst)
			if sha256.Sum256(got) != sha256.Sum256(payload) {
				t.Fatal("resumed file differs")
			}
			const overlap = 4 << 10
			const lateWrite = 64 << 10 // at most one of the server's copy buffers
			if sent, want := srv.Stats().BytesSent-sentBefore, size-part.Size()+overlap; sent < want || sent > want+lateWrite {
				t.Errorf("rerun fetched %d bytes, want %d (the missing %d + the overlap; up to %d more from the killed session's last write)", sent, want, size-part.Size(), lateWrite)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	bin := keepftpBinary(t)
	srv, err := testserver.Start(testserver.Options{Users: map[string]string{"alice": "right-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.WriteFile("/here", []byte("hello"))
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"bad URL", []string{"get", "http://x/y"}, ExitUsage},
		{"no URL", []string{"get"}, ExitUsage},
		{"bad rate", []string{"get", "--limit-rate", "fast", "ftp://h/f"}, ExitUsage},
		{"login refused", []string{"get", "-v", "-o", filepath.Join(dir, "a"), "ftp://alice:wrong-pw@" + srv.Addr() + "/here"}, ExitLogin},
		{"not found", []string{"get", "-o", filepath.Join(dir, "b"), "ftp://alice:right-pw@" + srv.Addr() + "/nope"}, ExitNotFound},
		{"gave up", []string{"get", "--retries", "1", "--retry-max-delay", "10ms", "-o", filepath.Join(dir, "c"), "ftp://127.0.0.1:1/x"}, ExitGaveUp},
		{"local error", []string{"get", "-o", filepath.Join(dir, "no-such-dir", "d"), "ftp://alice:right-pw@" + srv.Addr() + "/here"}, ExitLocal},
		{"ok", []string{"get", "-o", filepath.Join(dir, "e"), "ftp://alice:right-pw@" + srv.Addr() + "/here"}, ExitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
			if strings.Contains(string(out), "wrong-pw") || strings.Contains(string(out), "right-pw") {
				t.Errorf("password in output:\n%s", out)
			}
		})
	}
}

func TestPutCommand(t *testing.T) {
	bin := keepftpBinary(t)
	srv, err := testserver.Start(testserver.Options{EnableHASH: true, Faults: testserver.Faults{UploadCutAfter: []int64{1 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	payload := ftptest.RandomBytes(4 << 20)
	src := filepath.Join(t.TempDir(), "up.bin")
	os.WriteFile(src, payload, 0o644)
	out, err := exec.Command(bin, "put", "--retry-max-delay", "10ms", src, "ftp://"+srv.Addr()+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("put: %v\n%s", err, out)
	}
	f, err := srv.Fs().Open("/up.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got bytes.Buffer
	got.ReadFrom(f)
	if !bytes.Equal(got.Bytes(), payload) {
		t.Fatal("uploaded file differs")
	}
	if !strings.Contains(string(out), "retrying") || !strings.Contains(string(out), "SHA-256") {
		t.Errorf("output does not show the retry and the hash check:\n%s", out)
	}
}
