package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"

	"github.com/keepftp/keepftp/testserver"
)

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

// The NAT: a middlebox that drops control flows silent for 1.5 s, and a
// download of 2.5 s at 1 MiB/s through it. With --keepalive 250ms a NOOP
// goes out well inside the limit, even late on a loaded machine (at
// 500 ms within 1 s, a loaded run's keepalive came too late for a real
// server's row of the matrix); with NOOPs off the control flow is silent
// for the whole transfer and dies.
const (
	natSize = 5 << 19 // at 1 MiB/s: a 2.5 s transfer
	natRate = 1 << 20
	natIdle = 1500 * time.Millisecond
)

// TestGetThroughNATWithKeepalive: a 2.5 s download through a middlebox
// that drops control flows silent for 1.5 s completes with the right
// sha256 for every way a server answers NOOPs mid-transfer. (The NOOP
// cadence, a quarter of --timeout by default, is transfer's
// TestNoopEveryQuarterTimeoutDuringTransfer and noop's
// TestIntervalIsQuarterOfTimeout, in virtual time.)
func TestGetThroughNATWithKeepalive(t *testing.T) {
	t.Parallel()
	for _, style := range []testserver.NoopStyle{
		testserver.NoopAfterTransfer, testserver.NoopImmediate200, testserver.NoopImmediate500, testserver.NoopNever,
	} {
		t.Run(style.String(), func(t *testing.T) {
			t.Parallel()
			srv, mb, want := natSetup(t, style, natSize, natRate, natIdle)
			dst := filepath.Join(t.TempDir(), "big.bin")
			start := time.Now()
			code, _, stderr := runKeepftp(t, nil, "get", "--timeout", "4s", "--keepalive", "250ms", "-o", dst, "ftp://"+mb.Addr()+"/big.bin")
			if code != ExitOK {
				t.Fatalf("keepftp get: exit %d\n%s", code, stderr)
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
			if took < natIdle*3/2 {
				t.Errorf("took %v: the transfer was not long enough to need keepalive", took)
			}
			if st.Noops < 4 {
				t.Errorf("server saw %d NOOPs in a %v transfer, want one per 250 ms", st.Noops, took)
			}
			t.Logf("%v: %v, %d NOOPs seen by the server", style, took.Round(time.Millisecond), st.Noops)
		})
	}
}

// TestGetThroughNATWithoutKeepalive: the same download with NOOPs off gets
// all the data but never the 226; keepftp reports peer down and exits
// with the transfer-failure code. (That it does so one timeout after the
// data's end is transfer's TestLostFinalReply, in virtual time.)
func TestGetThroughNATWithoutKeepalive(t *testing.T) {
	t.Parallel()
	_, mb, _ := natSetup(t, testserver.NoopAfterTransfer, natSize, natRate, natIdle)
	dst := filepath.Join(t.TempDir(), "big.bin")
	// --retries 0: one attempt, to see the failure itself (with retries,
	// keepftp reconnects and verifies; see the resume tests).
	code, _, stderr := runKeepftp(t, nil, "get", "--timeout", "2s", "--keepalive", "0", "--retries", "0", "-o", dst, "ftp://"+mb.Addr()+"/big.bin")
	if code != ExitGaveUp {
		t.Fatalf("exit %d, want %d\n%s", code, ExitGaveUp, stderr)
	}
	if !strings.Contains(stderr, "peer down") {
		t.Errorf("stderr does not say peer down:\n%s", stderr)
	}
	if st := mb.Stats(); st.DataBytes != natSize || st.Expired != 1 {
		t.Errorf("%d bytes crossed, %d flows expired; want all %d and 1: the test did not exercise a dropped flow after the data", st.DataBytes, st.Expired, natSize)
	}
}
