package resume

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"github.com/keepftp/keepftp/internal/ftptest"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

func randInt(lo, hi int64) int64 {
	n, _ := rand.Int(rand.Reader, big.NewInt(hi-lo))
	return lo + n.Int64()
}

func target(t *testing.T, addr, path string) Target {
	t.Helper()
	tg, err := ParseURL("ftp://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// fastRetries keeps integration tests quick; the backoff itself is tested
// in virtual time.
var fastRetries = Policy{Retries: 5, MaxAttempts: 50, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}

// eventLog collects events, safe for the transfer's goroutines.
type eventLog struct {
	mu sync.Mutex
	ev []Event
}

func (l *eventLog) add(e Event) { l.mu.Lock(); l.ev = append(l.ev, e); l.mu.Unlock() }
func (l *eventLog) count(k EventKind) (n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.ev {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func checkFile(t *testing.T, name string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("%s: sha256 differs (%d bytes, want %d)", name, len(got), len(want))
	}
	for _, leftover := range []string{name + DefaultPartSuffix, name + DefaultPartSuffix + stateSuffix} {
		if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind", leftover)
		}
	}
}

// 64 MiB through a middlebox that cuts 10 data connections at random
// offsets: the file is right, and nothing was fetched twice but the small
// overlaps that check each resume.
func TestGetSurvivesTenDataCuts(t *testing.T) {
	t.Parallel()
	const size = 64 << 20
	payload := ftptest.RandomBytes(size)
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true})
	srv.WriteFile("/big", payload)
	cuts := make([]int64, 10)
	for i := range cuts {
		cuts[i] = randInt(64<<10, 6<<20)
	}
	mb := ftptest.StartMiddlebox(t, testserver.MiddleboxOptions{Target: srv.Addr(), DataCutAfter: cuts})
	dst := filepath.Join(t.TempDir(), "big")
	var ev eventLog
	out, err := Get(t.Context(), target(t, mb.Addr(), "/big"), dst, Options{Timeout: 5 * time.Second, Policy: fastRetries, Events: ev.add, Noops: &noop.Registry{}})
	if err != nil {
		t.Fatalf("Get: %v (%+v)", err, out)
	}
	checkFile(t, dst, payload)
	if out.Attempts != 11 || ev.count(EventRetry) != 10 {
		t.Errorf("attempts %d, retries %d; want 11 and 10 (one per cut)", out.Attempts, ev.count(EventRetry))
	}
	const readBuffer = 256 << 10
	if out.Received > size+10*readBuffer {
		t.Errorf("received %d bytes for a %d-byte file: more than 10 read buffers of waste", out.Received, size)
	}
	if out.Verified != "SHA-256" {
		t.Errorf("verified by %q, want SHA-256", out.Verified)
	}
	t.Logf("cuts at %v: %d attempts, %d bytes received (%d over the size)", cuts, out.Attempts, out.Received, out.Received-size)
}

// The remote file is replaced between attempts: the partial is not
// spliced onto the new file; the download restarts from 0.
func TestGetRestartsWhenRemoteFileChanged(t *testing.T) {
	t.Parallel()
	old, replacement := ftptest.RandomBytes(4<<20), ftptest.RandomBytes(4<<20)
	// 4 MiB/s: the cut comes a quarter of a second into the data, so the
	// first attempt has saved some of it. At 16 MiB/s (62 ms) a loaded
	// client may have saved nothing, as TestGetDetectsIgnoredREST's once
	// did, and then there is no partial to restart.
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{CutAfter: []int64{1 << 20}, RateLimit: 4 << 20}})
	srv.WriteFile("/f", old)
	var ev eventLog
	var once sync.Once
	o := Options{Timeout: 5 * time.Second, Policy: fastRetries, Noops: &noop.Registry{}, Events: func(e Event) {
		ev.add(e)
		if e.Kind == EventRetry {
			once.Do(func() {
				srv.WriteFile("/f", replacement)
				later := time.Now().Add(time.Hour)
				srv.Fs().Chtimes("/f", later, later)
			})
		}
	}}
	dst := filepath.Join(t.TempDir(), "f")
	out, err := Get(t.Context(), target(t, srv.Addr(), "/f"), dst, o)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkFile(t, dst, replacement)
	if ev.count(EventRestart) != 1 {
		t.Errorf("restarts = %d, want 1", ev.count(EventRestart))
	}
	if sent := srv.Stats().BytesSent; sent < int64(len(replacement)) {
		t.Errorf("server sent %d bytes after the change: it cannot have restarted from 0", sent)
	}
	t.Logf("%+v", out)
}

// A server that accepts REST but sends from 0: detected, the file is right.
func TestGetDetectsIgnoredREST(t *testing.T) {
	t.Parallel()
	for name, payload := range map[string][]byte{
		"random": ftptest.RandomBytes(2 << 20),
		"zeros":  make([]byte, 2<<20), // the overlap repeats: the byte count catches it
	} {
		t.Run(name, func(t *testing.T) {
			// 4 MiB/s: the cut comes 170 ms into the data. At 16 MiB/s (42
			// ms) a clean-clone CI run's first attempt saved nothing: the
			// server's 426 was read, and the data connection closed, before
			// the pump had read a byte, so the retry started from 0 with no
			// REST to ignore.
			srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{CutAfter: []int64{700000}, IgnoreREST: true, RateLimit: 4 << 20}})
			srv.WriteFile("/f", payload)
			var ev eventLog
			dst := filepath.Join(t.TempDir(), "f")
			out, err := Get(t.Context(), target(t, srv.Addr(), "/f"), dst, Options{Timeout: 5 * time.Second, Policy: fastRetries, Events: ev.add, Noops: &noop.Registry{}})
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			checkFile(t, dst, payload)
			var reasons []string
			for _, e := range ev.ev {
				if e.Kind == EventRestart || e.Kind == EventRetry {
					reasons = append(reasons, e.Reason)
				}
			}
			if !strings.Contains(strings.Join(reasons, "\n"), "REST") {
				t.Errorf("no event says REST was ignored: %q", reasons)
			}
			if ev.count(EventRestart) != 1 || out.Status != "complete" {
				t.Errorf("restarts %d, status %q: want one restart from 0 and a complete download", ev.count(EventRestart), out.Status)
			}
			t.Logf("%+v %q", out, reasons)
		})
	}
}

// The data all arrives, then the control connection goes dark before the
// 226: keepftp reconnects and verifies instead of downloading again.
func TestGetLostFinalReplyIsVerifiedNotRefetched(t *testing.T) {
	t.Parallel()
	payload := ftptest.RandomBytes(3 << 20)
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true})
	srv.WriteFile("/f", payload)
	mb := ftptest.StartMiddlebox(t, testserver.MiddleboxOptions{Target: srv.Addr()})
	mb.BlackholeAfterDataEOF(1)
	dst := filepath.Join(t.TempDir(), "f")
	// A timeout of 3 s: the final reply is awaited that long, with room
	// for a loaded machine (at 1 s a loaded run asked for the file twice).
	out, err := Get(t.Context(), target(t, mb.Addr(), "/f"), dst, Options{Timeout: 3 * time.Second, Policy: fastRetries, Noops: &noop.Registry{}})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkFile(t, dst, payload)
	if out.Status != "complete (verified)" || out.Verified != "SHA-256" {
		t.Errorf("status %q verified %q, want complete (verified) by SHA-256", out.Status, out.Verified)
	}
	if st := srv.Stats(); st.BytesSent != int64(len(payload)) || st.Downloads != 1 {
		t.Errorf("server sent %d bytes in %d downloads, want the file once", st.BytesSent, st.Downloads)
	}
}

// A cancelled context stops at once and never reconnects.
func TestGetCancelNeverReconnects(t *testing.T) {
	t.Parallel()
	payload := ftptest.RandomBytes(8 << 20)
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 2 << 20}})
	srv.WriteFile("/f", payload)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer wcancel()
		srv.WaitStats(wctx, func(s testserver.Stats) bool { return s.BytesSent > 1<<20 })
		cancel()
	}()
	dst := filepath.Join(t.TempDir(), "f")
	_, err := Get(ctx, target(t, srv.Addr(), "/f"), dst, Options{Timeout: 5 * time.Second, Policy: fastRetries, Noops: &noop.Registry{}})
	if !errors.Is(err, context.Canceled) || Classify(err) != Intentional {
		t.Fatalf("err = %v (class %v), want context.Canceled", err, Classify(err))
	}
	// Get has returned and leaves nothing running: the count is final.
	if n := srv.Stats().Connections; n != 1 {
		t.Errorf("%d connections, want 1: a cancel must not reconnect", n)
	}
	if st, err := os.Stat(dst + DefaultPartSuffix); err != nil || st.Size() == 0 {
		t.Errorf("the partial file must stay for a later resume: %v", err)
	}
}

func TestGetNotFoundIsPermanent(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	_, err := Get(t.Context(), target(t, srv.Addr(), "/nope"), filepath.Join(t.TempDir(), "x"), Options{Timeout: 5 * time.Second, Policy: fastRetries})
	if Classify(err) != NotFound {
		t.Fatalf("err = %v (%v), want not found", err, Classify(err))
	}
	if n := srv.Stats().Connections; n != 1 {
		t.Errorf("%d connections for a missing file, want 1 (no retries)", n)
	}
}

func TestPutSurvivesFiveCuts(t *testing.T) {
	t.Parallel()
	payload := ftptest.RandomBytes(32 << 20)
	cuts := make([]int64, 5)
	for i := range cuts {
		cuts[i] = randInt(64<<10, 5<<20)
	}
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true, Faults: testserver.Faults{UploadCutAfter: cuts}})
	src := filepath.Join(t.TempDir(), "up")
	os.WriteFile(src, payload, 0o644)
	var ev eventLog
	out, err := Put(t.Context(), src, target(t, srv.Addr(), "/up"), Options{Timeout: 5 * time.Second, Policy: fastRetries, Events: ev.add, Noops: &noop.Registry{}})
	if err != nil {
		t.Fatalf("Put: %v (%+v)", err, out)
	}
	f, err := srv.Fs().Open("/up")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	got.ReadFrom(f)
	f.Close()
	if sha256.Sum256(got.Bytes()) != sha256.Sum256(payload) {
		t.Fatalf("uploaded file differs (%d bytes)", got.Len())
	}
	if ev.count(EventRetry) != 5 || out.Verified != "SHA-256" {
		t.Errorf("retries %d verified %q, want 5 and SHA-256", ev.count(EventRetry), out.Verified)
	}
	t.Logf("cuts %v: %+v", cuts, out)
}
