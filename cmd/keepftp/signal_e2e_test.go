package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// signalBound is how long after SIGINT or SIGTERM keepftp must have ended:
// the promise is 2 s; the slack is for a loaded machine and the race
// detector, so that the test does not flake yet a hang (the bug: only
// SIGKILL ended it) still fails it.
const signalBound = 2*time.Second + 3*time.Second

// interruptAndWait sends sig to a started keepftp and checks that it exits
// 130 within signalBound.
func interruptAndWait(t *testing.T, cmd *exec.Cmd, sig syscall.Signal, stderr *bytes.Buffer) time.Duration {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("keepftp ended before the signal: %v\n%s", err, stderr.String())
	default:
	}
	sent := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("keepftp still running 30 s after %v\n%s", sig, stderr.String())
	}
	took := time.Since(sent)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitInterrupted {
		t.Fatalf("after %v: exit %v, want %d\n%s", sig, err, ExitInterrupted, stderr.String())
	}
	if took > signalBound {
		t.Errorf("ended %v after %v, want within 2 s", took, sig)
	}
	return took
}

// interruptOrRefused is interruptAndWait for a server that floods the
// control connection: keepftp may already have refused the flood on its
// own (a 200 cannot answer PASS: the replies are out of step, exit 5) by
// the time the signal comes, which is as good as ending at the signal.
func interruptOrRefused(t *testing.T, cmd *exec.Cmd, sig syscall.Signal, stderr *bytes.Buffer) {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	cmd.Process.Signal(sig) // fails if it has ended already
	var err error
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("keepftp still running 30 s after %v\n%s", sig, stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("after %v: exit %v, want %d\n%s", sig, err, ExitInterrupted, stderr.String())
	}
	refused := ee.ExitCode() == ExitGaveUp && bytes.Contains(stderr.Bytes(), []byte("out of step"))
	if ee.ExitCode() != ExitInterrupted && !refused {
		t.Fatalf("after %v: exit %d, want %d (or %d refusing the flood)\n%s", sig, ee.ExitCode(), ExitInterrupted, ExitGaveUp, stderr.String())
	}
}

// floodServer greets, then sends "200" lines without end: more unsolicited
// replies than any queue holds.
func floodServer(t *testing.T) (*fakeFTP, string) {
	f := &fakeFTP{handle: func(c *fakeConn, cmd string) bool {
		if cmd[:4] != "USER" {
			return false
		}
		c.send("331 password please")
		line := bytes.Repeat([]byte("200 flood\r\n"), 1000)
		for {
			if _, err := c.Write(line); err != nil {
				return true
			}
		}
	}}
	return f, startFake(t, f)
}

// stallServer logs in, then never answers the first command that is not
// part of the login.
func stallServer(t *testing.T) (*fakeFTP, string) {
	f := &fakeFTP{handle: func(c *fakeConn, cmd string) bool {
		switch cmd[:4] {
		case "USER", "PASS", "FEAT", "TYPE", "OPTS":
			return false
		}
		c.srv.cmds <- "STALL " + cmd
		return true
	}}
	return f, startFake(t, f)
}

// TestSignalEndsEveryCommand: SIGINT or SIGTERM ends get, ls, put, mirror
// and doctor with exit 130 within 2 s, whether the server floods the
// control connection with replies or stops answering (--timeout 60s, so
// only the signal can end it in time).
func TestSignalEndsEveryCommand(t *testing.T) {
	bin := keepftpBinary(t)
	local := filepath.Join(t.TempDir(), "up.bin")
	os.WriteFile(local, []byte("data"), 0o644)
	commands := map[string]func(addr string) []string{
		"get": func(a string) []string {
			return []string{"get", "-o", filepath.Join(t.TempDir(), "f"), "ftp://" + a + "/f"}
		},
		"ls":     func(a string) []string { return []string{"ls", "ftp://" + a + "/"} },
		"put":    func(a string) []string { return []string{"put", local, "ftp://" + a + "/up.bin"} },
		"mirror": func(a string) []string { return []string{"mirror", "ftp://" + a + "/", t.TempDir()} },
		"doctor": func(a string) []string { return []string{"doctor", "--timeout", "60s", "ftp://" + a + "/f"} },
	}
	for name, args := range commands {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(name+"/flood/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				f, addr := floodServer(t)
				cmd := exec.Command(bin, append(args(addr), "--timeout", "60s")...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if !f.waitCmd("USER") {
					t.Fatalf("keepftp never logged in\n%s", stderr.String())
				}
				interruptOrRefused(t, cmd, sig, &stderr)
			})
			t.Run(name+"/stall/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				f, addr := stallServer(t)
				cmd := exec.Command(bin, append(args(addr), "--timeout", "60s")...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if !f.waitCmd("STALL") {
					t.Fatalf("keepftp never got past the login\n%s", stderr.String())
				}
				interruptAndWait(t, cmd, sig, &stderr)
			})
		}
	}
}

// TestSignalDuringSlowTransfer: SIGTERM in the middle of a slow download
// ends it with 130 within 2 s and keeps what arrived: the partial file
// stays for the next run, which completes the file.
func TestSignalDuringSlowTransfer(t *testing.T) {
	bin := keepftpBinary(t)
	payload := ftptest.RandomBytes(4 << 20)
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 256 << 10}})
	srv.WriteFile("/slow.bin", payload)
	dst := filepath.Join(t.TempDir(), "slow.bin")
	cmd := exec.Command(bin, "get", "-o", dst, "ftp://"+srv.Addr()+"/slow.bin")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := srv.WaitStats(ctx, func(s testserver.Stats) bool { return s.BytesSent >= 512<<10 }); err != nil {
		cmd.Process.Kill()
		t.Fatalf("the transfer never got going: %v\n%s", err, stderr.String())
	}
	interruptAndWait(t, cmd, syscall.SIGTERM, &stderr)
	st, err := os.Stat(dst + ".part")
	if err != nil || st.Size() == 0 || st.Size() >= int64(len(payload)) {
		t.Fatalf("partial file after SIGTERM: %v %v", st, err)
	}
	sentBefore := srv.Stats().BytesSent
	out, err := exec.Command(bin, "get", "-o", dst, "ftp://"+srv.Addr()+"/slow.bin").CombinedOutput()
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, payload) {
		t.Fatalf("after resume: %d bytes, content differs", len(got))
	}
	if again := srv.Stats().BytesSent - sentBefore; again > int64(len(payload))-st.Size()+64<<10 {
		t.Errorf("the second run fetched %d bytes; %d were kept: it did not resume", again, st.Size())
	}
}
