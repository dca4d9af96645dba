package resume

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

// slowFirst serves 16 MiB in two segments of 8 MiB, the first download
// capped at 1 MiB/s and the others at 8 MiB/s: when the fast segment is
// done, the slow one has more than 2 MiB open (8 MiB minus what it fetched
// meanwhile), enough to split, unless the fast one took 6 s. (At 8 MiB
// and 3, then 1 MiB/s, loaded runs of the suite finished without a split:
// the fast segment, CPU-bound under the race detector, took seconds.) The
// others were at 32 MiB/s until a clean-clone CI run sent 2.7 MiB more
// than the file: a range that ends before the file's end overruns at that
// rate until the client's stop reaches the server.
func slowFirst(t *testing.T) (*testserver.Server, []byte) {
	payload := ftptest.RandomBytes(16 << 20)
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 8 << 20, RateLimits: []int64{1 << 20}}})
	srv.WriteFile("/big", payload)
	return srv, payload
}

// A connection that finished its range takes over the second half of the
// slow one's: the server sees a third RETR, from inside the slow range,
// and sends the file once (the slow connection stops where the other
// starts, no byte goes twice).
func TestGetSegmentsSlowRangeIsTakenOver(t *testing.T) {
	t.Parallel()
	srv, payload := slowFirst(t)
	size := int64(len(payload))
	dst := filepath.Join(t.TempDir(), "big")
	var ev eventLog
	out, err := Get(t.Context(), target(t, srv.Addr(), "/big"), dst, Options{
		Timeout: 5 * time.Second, Policy: fastRetries, Events: ev.add, Noops: &noop.Registry{}, Segments: 2,
	})
	if err != nil {
		t.Fatalf("Get: %v (%+v)", err, out)
	}
	checkFile(t, dst, payload)
	st := srv.Stats()
	splits := ev.count(EventSplit)
	if splits < 1 || ev.count(EventRetry) != 0 || st.Downloads != int64(2+splits) {
		t.Fatalf("%d splits, %d retries, %d RETRs; want a split, no retry, one RETR per range and split; retried for:\n%s", splits, ev.count(EventRetry), st.Downloads, ev.reasons(EventRetry))
	}
	for _, e := range ev.ev {
		if e.Kind == EventSplit && (e.Offset <= 0 || e.Offset == size/2 || e.Offset >= size) {
			t.Errorf("split at %d: want inside a range, not at its start", e.Offset)
		}
	}
	// Each byte was sent about once: had the slow connection gone on to
	// its range's end, the taken-over half (4 MiB or more) would have gone
	// twice. What a stopped connection had in flight (socket buffers) may
	// go twice: up to 1 MiB a split (a loaded run split twice and sent
	// 1.09 MiB more).
	if out.Received != size || st.BytesSent < size || st.BytesSent > size+int64(splits)<<20 {
		t.Errorf("received %d, server sent %d, for %d bytes", out.Received, st.BytesSent, size)
	}
	t.Logf("%+v; %d splits; server sent %d bytes in %d RETRs", out, splits, st.BytesSent, st.Downloads)
}

// childEnv names the environment of TestHelperSegmentsKilled's child.
const (
	childAddr  = "KEEPFTP_TEST_SEGMENTS_ADDR"
	childDst   = "KEEPFTP_TEST_SEGMENTS_DST"
	childStage = "KEEPFTP_TEST_SEGMENTS_KILL_AT"
)

// TestHelperSegmentsKilled is the child of TestGetSegmentsKilledWhileSplitting:
// it downloads with two segments and SIGKILLs itself at the named step of
// the first split. Run by itself (no child environment) it does nothing.
func TestHelperSegmentsKilled(t *testing.T) {
	addr := os.Getenv(childAddr)
	if addr == "" {
		return
	}
	stage := os.Getenv(childStage)
	o := Options{Timeout: 5 * time.Second, Policy: fastRetries, Noops: &noop.Registry{}, Segments: 2}
	o.stepHook = func(step string) {
		if step == stage {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal ends the process
		}
	}
	_, err := Get(context.Background(), target(t, addr, "/big"), os.Getenv(childDst), o)
	t.Fatalf("the child was not killed; Get: %v", err)
}

// A download SIGKILLed in the middle of a split (after the split is made,
// before it is recorded; and just after it is recorded) resumes from the
// state file as it was left: the file's sha256 is right, and the rerun
// receives exactly the bytes the state file said were missing, plus the
// overlap each resumed range repeats: no byte twice.
func TestGetSegmentsKilledWhileSplitting(t *testing.T) {
	t.Parallel()
	for _, stage := range []string{"split", "recorded"} {
		t.Run(stage, func(t *testing.T) {
			t.Parallel()
			srv, payload := slowFirst(t)
			size := int64(len(payload))
			dst := filepath.Join(t.TempDir(), "big")
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperSegmentsKilled$", "-test.count=1")
			cmd.Env = append(os.Environ(), childAddr+"="+srv.Addr(), childDst+"="+dst, childStage+"="+stage)
			outb, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, outb)
			}
			segs := segmentsOf(t, dst+DefaultPartSuffix)
			if !validSegments(segs, size) {
				t.Fatalf("state after the kill: %+v", segs)
			}
			// "split": killed before the record, the state still has the two
			// ranges; "recorded": it has three, the new one untouched.
			switch {
			case stage == "split" && len(segs) != 2,
				stage == "recorded" && (len(segs) != 3 || segs[1].Done != 0 && segs[2].Done != 0):
				t.Fatalf("state after a kill at %q: %+v", stage, segs)
			}
			var have, overlap int64
			for _, s := range segs {
				have += s.Done
				if s.Done > 0 && s.Done < s.End-s.Start {
					overlap += min(s.Done, overlapSize)
				}
			}
			// The child's connections are gone before the rerun counts.
			wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer wcancel()
			if _, err := srv.WaitStats(wctx, func(s testserver.Stats) bool { return s.ActiveConns == 0 }); err != nil {
				t.Fatal(err)
			}
			srv.SetFaults(testserver.Faults{RateLimit: 32 << 20})
			before := srv.Stats()
			var ev eventLog
			out, err := Get(t.Context(), target(t, srv.Addr(), "/big"), dst, Options{
				Timeout: 5 * time.Second, Policy: fastRetries, Noops: &noop.Registry{}, Segments: 2, Events: ev.add,
			})
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			checkFile(t, dst, payload)
			if want := size - have + overlap; out.Received != want {
				t.Errorf("rerun received %d bytes, want the %d missing + %d overlap", out.Received, size-have, overlap)
			}
			if ev.count(EventRestart) != 0 || ev.count(EventRetry) != 0 {
				t.Errorf("%d restarts, %d retries in the rerun, want none", ev.count(EventRestart), ev.count(EventRetry))
			}
			t.Logf("killed at %q with %d of %d bytes recorded in %+v; rerun: %+v, server sent %d", stage, have, size, segs, out, srv.Stats().BytesSent-before.BytesSent)
		})
	}
}
