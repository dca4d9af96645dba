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
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"

	"github.com/keepftp/keepftp/testserver"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// keepftpBinary builds the command once per test run, so tests run it as
// a user or a script would.
func keepftpBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keepftp-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "keepftp")
		// -buildvcs=true: the binary carries its git revision, as a
		// user's build from a clone does, even where GOFLAGS turns that
		// off (keepftp version shows it; TestVersionRevision checks it).
		out, err := exec.Command("go", "build", "-race", "-buildvcs=true", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

// natSetup is a testserver sending at a fixed rate behind a middlebox that
// blackholes control flows silent for idle, like a NAT that forgot them.
func natSetup(t *testing.T, style testserver.NoopStyle, size int, rate int64, idle time.Duration) (*testserver.Server, *testserver.Middlebox, [32]byte) {
	t.Helper()
	payload := ftptest.RandomBytes(size)
	srv, err := testserver.Start(testserver.Options{Noop: style, Faults: testserver.Faults{RateLimit: rate}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.WriteFile("/big.bin", payload); err != nil {
		t.Fatal(err)
	}
	mb, err := testserver.NewMiddlebox(testserver.MiddleboxOptions{Target: srv.Addr(), IdleTimeout: idle, Mode: testserver.ExpireBlackhole})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return srv, mb, sha256.Sum256(payload)
}

const (
	natSize = 8 << 20 // at 1 MiB/s: an 8 s transfer
	natRate = 1 << 20
	natIdle = 2500 * time.Millisecond
)

// TestGetThroughNATWithKeepalive: an 8 s download through a middlebox that
// drops control flows silent for 2.5 s completes with the right sha256 for
// every way a server answers NOOPs mid-transfer.
func TestGetThroughNATWithKeepalive(t *testing.T) {
	bin := keepftpBinary(t)
	for _, style := range []testserver.NoopStyle{
		testserver.NoopAfterTransfer, testserver.NoopImmediate200, testserver.NoopImmediate500, testserver.NoopNever,
	} {
		t.Run(style.String(), func(t *testing.T) {
			t.Parallel()
			srv, mb, want := natSetup(t, style, natSize, natRate, natIdle)
			dst := filepath.Join(t.TempDir(), "big.bin")
			cmd := exec.Command(bin, "get", "--timeout", "4s", "-o", dst, "ftp://"+mb.Addr()+"/big.bin")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatalf("keepftp get: %v\n%s", err, stderr.String())
			}
			took := time.Since(start)
			data, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(data) != want {
				t.Fatalf("sha256 mismatch (%d bytes)", len(data))
			}
			if _, err := os.Stat(dst + ".part"); !os.IsNotExist(err) {
				t.Errorf("%s.part left behind", dst)
			}
			st, mst := srv.Stats(), mb.Stats()
			if mst.Expired != 0 {
				t.Errorf("the middlebox expired %d control flows: keepalive did not keep it alive", mst.Expired)
			}
			if took < 6*time.Second {
				t.Errorf("took %v: the transfer was not long enough to need keepalive", took)
			}
			if st.Noops < 3 {
				t.Errorf("server saw %d NOOPs in a %v transfer, want one per second", st.Noops, took)
			}
			t.Logf("%v: %v, %d NOOPs seen by the server", style, took.Round(time.Millisecond), st.Noops)
		})
	}
}

// TestGetThroughNATWithoutKeepalive: the same download with NOOPs off gets
// all the data but never the 226; keepftp reports peer down within 1.25 x
// the timeout of the data's end, and exits with the transfer-failure code.
func TestGetThroughNATWithoutKeepalive(t *testing.T) {
	bin := keepftpBinary(t)
	_, mb, _ := natSetup(t, testserver.NoopAfterTransfer, natSize, natRate, natIdle)
	const timeout = 4 * time.Second
	dst := filepath.Join(t.TempDir(), "big.bin")
	// --retries 0: one attempt, to see the failure itself (with retries,
	// keepftp reconnects and verifies; see the resume tests).
	cmd := exec.Command(bin, "get", "--timeout", timeout.String(), "--keepalive", "0", "--retries", "0", "-o", dst, "ftp://"+mb.Addr()+"/big.bin")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if _, err := mb.WaitStats(ctx, func(s testserver.MiddleboxStats) bool { return s.DataBytes >= natSize }); err != nil {
		t.Fatalf("data never arrived: %v\n%s", err, stderr.String())
	}
	dataEnd := time.Now()
	var err error
	select {
	case err = <-exited:
	case <-ctx.Done():
		cmd.Process.Kill()
		t.Fatalf("keepftp hung after the data ended\n%s", stderr.String())
	}
	after := time.Since(dataEnd)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitGaveUp {
		t.Fatalf("exit = %v, want code %d\n%s", err, ExitGaveUp, stderr.String())
	}
	if !strings.Contains(stderr.String(), "peer down") {
		t.Errorf("stderr does not say peer down:\n%s", stderr.String())
	}
	if limit := timeout * 5 / 4; after > limit {
		t.Errorf("peer down %v after the data ended, want at most %v", after, limit)
	}
	if mb.Stats().Expired != 1 {
		t.Errorf("middlebox expired %d flows, want 1: the test did not exercise a dropped flow", mb.Stats().Expired)
	}
	t.Logf("peer down %v after the data ended (timeout %v)", after.Round(time.Millisecond), timeout)
}
