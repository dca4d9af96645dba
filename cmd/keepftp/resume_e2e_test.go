package main

import (
	"bytes"
	"context"
	"crypto/sha256"
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

// TestInterruptedGetResumes stops keepftp mid-download, with an interrupt
// (SIGINT, in this process: a clean stop, exit 130) and with SIGKILL (the
// process: no chance to clean up). Either
// way NAME.part and its state stay, and a rerun completes the file while
// fetching only the missing bytes (plus the 4 KiB overlap that checks the
// resume point).
func TestInterruptedGetResumes(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			const size = 8 << 20
			payload := ftptest.RandomBytes(size)
			srv, err := testserver.Start(testserver.Options{Faults: testserver.Faults{RateLimit: 4 << 20}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			srv.WriteFile("/f.bin", payload)
			dst := filepath.Join(t.TempDir(), "f.bin")
			url := "ftp://" + srv.Addr() + "/f.bin"

			args := []string{"get", "-q", "--timeout", "5s", "-o", dst, url}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			started := func(s testserver.Stats) bool { return s.BytesSent > 2<<20 }
			if sig == syscall.SIGINT {
				r := startKeepftp(t, nil, false, args...)
				if _, err := srv.WaitStats(ctx, started); err != nil {
					r.Interrupt()
					t.Fatal(err)
				}
				interruptRun(t, r)
			} else {
				cmd := exec.Command(keepftpBinary(t), args...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if _, err := srv.WaitStats(ctx, started); err != nil {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatal(err)
				}
				cmd.Process.Signal(sig)
				if code := exitCodeOf(t, cmd.Wait()); code != -1 {
					t.Fatalf("exit %d: keepftp was not killed", code)
				}
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
			if code, out := runCombined(t, args...); code != ExitOK {
				t.Fatalf("rerun: exit %d\n%s", code, out)
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
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Users: map[string]string{"alice": "right-pw"}})
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
			t.Parallel()
			code, out := runCombined(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
			if strings.Contains(out, "wrong-pw") || strings.Contains(out, "right-pw") {
				t.Errorf("password in output:\n%s", out)
			}
		})
	}
}

func TestPutCommand(t *testing.T) {
	t.Parallel()
	srv, err := testserver.Start(testserver.Options{EnableHASH: true, Faults: testserver.Faults{UploadCutAfter: []int64{1 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	payload := ftptest.RandomBytes(4 << 20)
	src := filepath.Join(t.TempDir(), "up.bin")
	os.WriteFile(src, payload, 0o644)
	code, out := runCombined(t, "put", "--retry-max-delay", "10ms", src, "ftp://"+srv.Addr()+"/")
	if code != ExitOK {
		t.Fatalf("put: exit %d\n%s", code, out)
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
	if !strings.Contains(out, "retrying") || !strings.Contains(out, "SHA-256") {
		t.Errorf("output does not show the retry and the hash check:\n%s", out)
	}
}

// A server that takes the upload but refuses its rename for good (550 to
// RNFR: the user may write, not rename): put fails at once with exit 8,
// saying which rename was refused, the server's reply, and that the
// verified upload stays on the server under its temporary name; it does
// not retry (one RNFR).
func TestPutRenameRefusedExits8(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "RNFR" {
			s.Reply("550 Permission denied.")
			return true
		}
		return false
	}
	src := filepath.Join(t.TempDir(), "up.bin")
	os.WriteFile(src, ftptest.RandomBytes(20000), 0o644)
	code, out := runCombined(t, "put", "--retry-max-delay", "10ms", src, "ftp://"+f.Addr()+"/up.bin")
	if code != ExitRefused {
		t.Errorf("exit %d, want %d\n%s", code, ExitRefused, out)
	}
	if n := f.Count("RNFR"); n != 1 {
		t.Errorf("%d RNFR, want 1: the refusal was retried\n%s", n, out)
	}
	for _, want := range []string{"refused to rename /.up.bin.", "550 Permission denied.", "verified upload stays on the server"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
}
