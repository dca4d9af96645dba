package main

import (
	"bytes"
	"context"
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

// interruptAndWait sends sig to a started keepftp process and checks that
// it exits 130 within signalBound.
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
	if code := exitCodeOf(t, err); code != ExitInterrupted {
		t.Fatalf("after %v: exit %d, want %d\n%s", sig, code, ExitInterrupted, stderr.String())
	}
	if took > signalBound {
		t.Errorf("ended %v after %v, want within 2 s", took, sig)
	}
	return took
}

// interruptRun interrupts an in-process run (what SIGINT and SIGTERM do:
// main cancels run's context) and checks that it returns 130 within
// signalBound by itself: main's backstop, which ends the process 1.5 s
// after the signal whatever the command does, is not there to help.
func interruptRun(t *testing.T, r *inproc) time.Duration {
	t.Helper()
	took := r.Interrupt()
	if code := r.Wait(); code != ExitInterrupted {
		t.Fatalf("after the interrupt: exit %d, want %d\n%s", code, ExitInterrupted, r.Stderr.String())
	}
	if took > signalBound {
		t.Errorf("ended %v after the interrupt, want within 2 s", took)
	}
	return took
}

// A stuck server: stuck is told (once) when keepftp waits on it.
type stuckServer struct {
	*ftptest.Fake
	stuck chan struct{}
}

func newStuckServer(t *testing.T) stuckServer {
	return stuckServer{ftptest.StartFake(t), make(chan struct{}, 1)}
}

// isStuck tells the test that keepftp waits on the server now.
func (s stuckServer) isStuck() {
	select {
	case s.stuck <- struct{}{}:
	default:
	}
}

// trickleServer answers USER with a multi-line reply that never ends, a
// line every 100 ms: every byte is a sign of life, and the reply stays
// within any cap on lines or bytes for minutes.
func trickleServer(t *testing.T) stuckServer {
	f := newStuckServer(t)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "USER" {
			return false
		}
		f.isStuck()
		for s.Reply("331-still thinking") == nil {
			time.Sleep(100 * time.Millisecond)
		}
		return true
	}
	return f
}

// stallServer logs in, then never answers the first command that is not
// part of the login.
func stallServer(t *testing.T) stuckServer {
	f := newStuckServer(t)
	f.WriteFile("/f", []byte("data"), time.Now())
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch verb {
		case "USER", "PASS", "FEAT", "TYPE", "OPTS":
			return false
		}
		f.isStuck()
		s.Hang()
		return true
	}
	return f
}

// dataStallServer opens the data connection of a download or listing,
// says 150, and sends nothing on it.
func dataStallServer(t *testing.T) stuckServer {
	f := newStuckServer(t)
	f.MLST = true
	f.WriteFile("/f", make([]byte, 1000000), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "RETR" && verb != "MLSD" {
			return false
		}
		d, err := s.Data()
		if err != nil {
			s.Reply("425 " + err.Error())
			return true
		}
		defer d.Close()
		s.Reply("150 here it comes, slowly")
		f.isStuck()
		s.Hang() // until keepftp goes
		return true
	}
	return f
}

// TestSignalEndsEveryCommand: an interrupt (SIGINT or SIGTERM: both cancel
// the run) ends get, ls, put, mirror and doctor with exit 130 within 2 s,
// whether the server trickles an endless reply, stops answering a
// command, or stalls a data connection (--timeout 60s, so only the
// interrupt can end it in time). The commands run in this process,
// without main's backstop; TestSignalsExit130 sends the real signals.
func TestSignalEndsEveryCommand(t *testing.T) {
	t.Parallel()
	local := filepath.Join(t.TempDir(), "up.bin")
	os.WriteFile(local, []byte("data"), 0o644)
	commands := map[string]func(addr string) []string{
		"get": func(a string) []string {
			return []string{"get", "-o", filepath.Join(t.TempDir(), "f"), "ftp://" + a + "/f"}
		},
		"ls":     func(a string) []string { return []string{"ls", "ftp://" + a + "/"} },
		"put":    func(a string) []string { return []string{"put", local, "ftp://" + a + "/up.bin"} },
		"mirror": func(a string) []string { return []string{"mirror", "ftp://" + a + "/", t.TempDir()} },
		"doctor": func(a string) []string { return []string{"doctor", "ftp://" + a + "/f"} },
	}
	servers := map[string]func(*testing.T) stuckServer{"trickle": trickleServer, "stall": stallServer}
	for name, args := range commands {
		for sname, start := range servers {
			t.Run(name+"/"+sname, func(t *testing.T) {
				t.Parallel()
				f := start(t)
				interruptWhenStuck(t, f, append(args(f.Addr()), "--timeout", "60s")...)
			})
		}
	}
	for _, name := range []string{"get", "ls", "mirror"} {
		t.Run(name+"/data-stall", func(t *testing.T) {
			t.Parallel()
			f := dataStallServer(t)
			interruptWhenStuck(t, f, append(commands[name](f.Addr()), "--timeout", "60s")...)
		})
	}
}

// interruptWhenStuck runs keepftp in this process, waits until it is
// stuck on the server, and checks that an interrupt ends it with 130
// within the bound.
func interruptWhenStuck(t *testing.T, f stuckServer, args ...string) {
	t.Helper()
	r := startKeepftp(t, nil, false, args...)
	select {
	case <-f.stuck:
	case <-r.Done():
		t.Fatalf("keepftp ended (exit %d) before it got stuck\n%s", r.Wait(), r.Stderr.String())
	case <-time.After(30 * time.Second):
		r.Interrupt()
		t.Fatalf("keepftp never got stuck\n%s", r.Stderr.String())
	}
	took := interruptRun(t, r)
	t.Logf("exit 130 %v after the interrupt", took.Round(time.Millisecond))
}

// TestSignalsExit130: the process itself, sent SIGINT or SIGTERM while it
// waits on a server that stopped answering (--timeout 60s), exits 130
// within 2 s.
func TestSignalsExit130(t *testing.T) {
	t.Parallel()
	bin := keepftpBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			f := stallServer(t)
			cmd := exec.Command(bin, "get", "--timeout", "60s", "-o", filepath.Join(t.TempDir(), "f"), "ftp://"+f.Addr()+"/f")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-f.stuck:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("keepftp never got stuck\n%s", stderr.String())
			}
			took := interruptAndWait(t, cmd, sig, &stderr)
			t.Logf("exit 130 %v after %v", took.Round(time.Millisecond), sig)
		})
	}
}

// TestSignalDuringSlowTransfer: SIGTERM in the middle of a slow download
// ends the process with 130 within 2 s and keeps what arrived: the
// partial file stays for the next run, which completes the file.
func TestSignalDuringSlowTransfer(t *testing.T) {
	t.Parallel()
	bin := keepftpBinary(t)
	payload := ftptest.RandomBytes(2 << 20)
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 512 << 10}})
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
		cmd.Wait()
		t.Fatalf("the transfer never got going: %v\n%s", err, stderr.String())
	}
	interruptAndWait(t, cmd, syscall.SIGTERM, &stderr)
	st, err := os.Stat(dst + ".part")
	if err != nil || st.Size() == 0 || st.Size() >= int64(len(payload)) {
		t.Fatalf("partial file after SIGTERM: %v %v", st, err)
	}
	srv.SetFaults(testserver.Faults{})
	if _, err := srv.WaitStats(ctx, func(s testserver.Stats) bool { return s.ActiveConns == 0 }); err != nil {
		t.Fatal(err)
	}
	sentBefore := srv.Stats().BytesSent
	if code, out := runCombined(t, "get", "-o", dst, "ftp://"+srv.Addr()+"/slow.bin"); code != ExitOK {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, payload) {
		t.Fatalf("after resume: %d bytes, content differs", len(got))
	}
	if again := srv.Stats().BytesSent - sentBefore; again > int64(len(payload))-st.Size()+64<<10 {
		t.Errorf("the second run fetched %d bytes; %d were kept: it did not resume", again, st.Size())
	}
}
