package keepftp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

// What the profile learns about NOOPs, end to end: a path's stalls and
// resets teach nothing, a server that aborts on NOOP is learned, retested
// and confirmed, and a false "aborts" is corrected by the next clean run.

// noopRun is one run (a Client of its own) that gets url with NOOPs every
// 100 ms, and what it left: the notes it logged and the profile.
type noopRun struct {
	notes protoLog
	p     profile.Profile
}

func getWithNoops(t *testing.T, dir, url string, want []byte, timeout time.Duration) *noopRun {
	t.Helper()
	r := &noopRun{}
	c := NewClient(Options{
		Timeout:    timeout,
		Keepalive:  100 * time.Millisecond,
		Retry:      RetryPolicy{Retries: 10, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		ProfileDir: dir, Parallel: 1, Logf: r.notes.logf,
	})
	local := filepath.Join(t.TempDir(), "f")
	_, err := c.Get(t.Context(), url, local)
	c.Close()
	if err != nil {
		t.Fatalf("get: %v\nnotes:\n%s", err, r.notes.String())
	}
	if got, _ := os.ReadFile(local); !bytes.Equal(got, want) {
		t.Fatalf("the file arrived wrong (%d bytes, want %d)", len(got), len(want))
	}
	return r
}

func (r *noopRun) load(t *testing.T, dir, addr string) {
	t.Helper()
	s, _ := profile.Open(dir)
	p, _, err := s.Load(profile.Key{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	r.p = p
}

// TestPathFaultsTeachNoNoopFacts: through a middlebox that stalls two
// data connections and resets two others, while NOOPs go every 100 ms, a
// server that answers them with 500 (pure-ftpd's way) is learned as doing
// so, never as aborting; NOOPs still go during its transfers.
func TestPathFaultsTeachNoNoopFacts(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Noop: testserver.NoopImmediate500, Faults: testserver.Faults{RateLimit: 2 << 20}})
	// 2 MiB: after the faults' 800 KiB the clean attempt that decides
	// lasts 0.6 s, NOOPs answered during it (with 1 MiB, a loaded run's
	// last attempt had them answered only after its end).
	data := ftptest.RandomBytes(2 << 20)
	srv.WriteFile("/f", data)
	const never = 1 << 40
	mb := ftptest.StartMiddlebox(t, testserver.MiddleboxOptions{
		Target:         srv.Addr(),
		DataStallAfter: []int64{100 << 10, 0, 300 << 10, 0},
		DataCutAfter:   []int64{never, 200 << 10, never, 200 << 10},
	})
	dir := t.TempDir()
	r := getWithNoops(t, dir, "ftp://"+mb.Addr()+"/f", data, 500*time.Millisecond)
	if st := mb.Stats(); st.DataFlows < 5 {
		t.Fatalf("%d data flows: the faults did not all happen", st.DataFlows)
	}
	r.load(t, dir, mb.Addr())
	if b := r.p.NoopBehaviour(); b != noop.WithError || strings.Contains(r.notes.String(), "no more NOOPs") {
		t.Errorf("learned %q from a path that stalled and reset; want %q\nnotes:\n%s", r.p.Noop, noop.WithError, r.notes.String())
	}
	if srv.Stats().Noops == 0 {
		t.Error("no NOOPs were sent")
	}
}

// TestServerAbortOnNoopLearnedRetestedConfirmed: testserver's NoopAborts
// answers a NOOP during a transfer by resetting the data connection and
// "426". The first run learns it (two aborts in a row) and saves it, seen
// once; the second run retests it (one transfer with NOOPs, aborted
// again), and it is seen twice; the third run sends no NOOP at all.
func TestServerAbortOnNoopLearnedRetestedConfirmed(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Noop: testserver.NoopAborts, Faults: testserver.Faults{RateLimit: 2 << 20}})
	data := ftptest.RandomBytes(1 << 20)
	srv.WriteFile("/f", data)
	dir := t.TempDir()
	url := "ftp://" + srv.Addr() + "/f"
	for run, want := range []struct {
		seen      int
		downloads int64 // RETRs of the run
		noops     bool
	}{{1, 3, true}, {2, 2, true}, {2, 1, false}} {
		before := srv.Stats()
		r := getWithNoops(t, dir, url, data, 2*time.Second)
		after := srv.Stats()
		r.load(t, dir, srv.Addr())
		ev := r.p.NoopEvidence
		if r.p.NoopBehaviour() != noop.Aborts || ev == nil || ev.Seen != want.seen || ev.Source != profile.SourceTransfers {
			t.Fatalf("run %d: profile %q %+v; want aborts, seen %d, from transfers\nnotes:\n%s", run+1, r.p.Noop, ev, want.seen, r.notes.String())
		}
		if n := after.Downloads - before.Downloads; n != want.downloads {
			t.Errorf("run %d: %d RETRs, want %d", run+1, n, want.downloads)
		}
		// During the transfers: the pool's keepalive of the idle
		// connection (a NOOP 100 ms after its last command, while the run
		// finishes) is not the question.
		if n := after.NoopsInTransfer - before.NoopsInTransfer; (n > 0) != want.noops {
			t.Errorf("run %d: %d NOOPs during transfers; want NOOPs: %v", run+1, n, want.noops)
		}
	}
}

// TestFalseAbortCorrectedByCleanRun: a profile that says "aborts on NOOP"
// about a server that does not (an old profile file, a fact seen once, or
// one not seen for over a day) is retested by the next run, which sends
// NOOPs, completes, and replaces it; one seen twice within the day is
// applied without a retest.
func TestFalseAbortCorrectedByCleanRun(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name    string
		seed    func(*profile.Profile)
		retests bool
	}{
		{"old profile file", func(p *profile.Profile) { p.Noop = noop.Aborts.String() }, true},
		{"seen once", func(p *profile.Profile) { p.LearnNoop(noop.Aborts, profile.SourceTransfers, now) }, true},
		{"seen twice, two days ago", func(p *profile.Profile) {
			p.LearnNoop(noop.Aborts, profile.SourceTransfers, now.Add(-72*time.Hour))
			p.LearnNoop(noop.Aborts, profile.SourceTransfers, now.Add(-48*time.Hour))
		}, true},
		{"seen twice, an hour ago", func(p *profile.Profile) {
			p.LearnNoop(noop.Aborts, profile.SourceTransfers, now.Add(-2*time.Hour))
			p.LearnNoop(noop.Aborts, profile.SourceTransfers, now.Add(-time.Hour))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := ftptest.StartServer(t, testserver.Options{Noop: testserver.NoopImmediate500, Faults: testserver.Faults{RateLimit: 2 << 20}})
			data := ftptest.RandomBytes(1 << 20)
			srv.WriteFile("/f", data)
			dir := t.TempDir()
			s, _ := profile.Open(dir)
			if err := s.Update(profile.Key{Addr: srv.Addr()}, tc.seed); err != nil {
				t.Fatal(err)
			}
			r := getWithNoops(t, dir, "ftp://"+srv.Addr()+"/f", data, 2*time.Second)
			r.load(t, dir, srv.Addr())
			// NOOPs during the transfer: the pool's keepalive of the idle
			// connection (a NOOP 100 ms after its last command, while the
			// run finishes on a loaded machine) is no retest.
			noops := srv.Stats().NoopsInTransfer
			if !tc.retests {
				if noops != 0 || r.p.NoopBehaviour() != noop.Aborts {
					t.Errorf("a confirmed, recent abort: %d NOOPs sent during the transfer, profile %q; want none, unchanged\nserver's log: %q", noops, r.p.Noop, srv.Commands())
				}
				return
			}
			if noops == 0 || r.p.NoopBehaviour() != noop.WithError || r.p.NoopEvidence == nil || r.p.NoopEvidence.Seen != 1 {
				t.Errorf("retest: %d NOOPs sent during the transfer, profile %q %+v; want NOOPs and %q\nnotes:\n%s", noops, r.p.Noop, r.p.NoopEvidence, noop.WithError, r.notes.String())
			}
		})
	}
}
