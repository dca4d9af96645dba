package resume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

func TestSplitRanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, size int64
		n          int
	}{{0, 10, 3}, {0, 16 << 20, 4}, {5, 1<<20 + 7, 7}, {0, 1, 1}} {
		segs := splitRanges(tc.from, tc.size, tc.n)
		if len(segs) != tc.n || segs[0].Start != tc.from || segs[len(segs)-1].End != tc.size {
			t.Fatalf("%+v: %+v", tc, segs)
		}
		for i := 1; i < len(segs); i++ {
			if segs[i].Start != segs[i-1].End {
				t.Fatalf("%+v: gap or overlap: %+v", tc, segs)
			}
		}
		if tc.from == 0 && !validSegments(segs, tc.size) {
			t.Fatalf("%+v: not valid: %+v", tc, segs)
		}
	}
	if validSegments([]segment{{0, 5, 6}}, 5) || validSegments([]segment{{0, 5, 0}, {6, 10, 0}}, 10) || validSegments(nil, 0) {
		t.Fatal("invalid segments accepted")
	}
}

// segmentsOf reads the state file's segments.
func segmentsOf(t *testing.T, part string) []segment {
	t.Helper()
	st, err := readState(part + stateSuffix)
	if err != nil {
		t.Fatal(err)
	}
	return st.Segments
}

// Four segments, each cut once (and one twice): every segment resumes where
// it was cut, the file verifies by the server's hash, and the server sends
// the file about once.
func TestGetSegmentsSurviveCutsInEverySegment(t *testing.T) {
	t.Parallel()
	const size = 16 << 20
	payload := ftptest.RandomBytes(size)
	// Rate-limited downloads: a range's end then stops the server within
	// a burst, and the bytes sent count what was fetched. At 4 MiB/s a
	// connection: a cut (a reset, which discards what the client had not
	// read yet) comes 75 ms or more after the range started; at 32 MiB/s a
	// loaded CI run's client had read nothing of two ranges by their cuts,
	// which then rightly started again from their first byte.
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true, Faults: testserver.Faults{
		RateLimit: 4 << 20,
		CutAfter:  []int64{1 << 20, 1<<20 + 12345, 2 << 20, 700 << 10, 300 << 10},
	}})
	srv.WriteFile("/big", payload)
	dst := filepath.Join(t.TempDir(), "big")
	var ev eventLog
	out, err := Get(t.Context(), target(t, srv.Addr(), "/big"), dst, Options{
		Timeout: 5 * time.Second, Policy: fastRetries, Events: ev.add, Noops: &noop.Registry{}, Segments: 4,
	})
	if err != nil {
		t.Fatalf("Get: %v (%+v)", err, out)
	}
	checkFile(t, dst, payload)
	if out.Verified != "SHA-256" || out.Status != "complete" {
		t.Errorf("status %q verified %q, want complete by SHA-256", out.Status, out.Verified)
	}
	starts := []int64{0, size / 4, size / 2, 3 * size / 4}
	var retries int
	for _, e := range ev.ev {
		if e.Kind != EventRetry {
			continue
		}
		retries++
		// A retry resumes inside its segment, never at a segment's start.
		if slices.Contains(starts, e.Offset) || e.Offset <= 0 {
			t.Errorf("retry at %d: a segment restarted instead of resuming", e.Offset)
		}
	}
	st := srv.Stats()
	splits := ev.count(EventSplit)
	if retries != 5 || st.Downloads != int64(4+5+splits) {
		t.Errorf("%d retries, %d RETRs, %d splits; want 5 retries and 9 RETRs (4 segments + one per cut) + one per split", retries, st.Downloads, splits)
	}
	// keepftp took each byte once, plus the 4 KiB each resume repeats; the
	// server sent about the file once, not a segment again from its start.
	// A connection stopped at its range's end (three of them, and one more
	// for each split) overruns by what was in flight and what the server
	// sent until the client's stop reached it: 4 MiB/s for as long as a
	// loaded client takes to stop. A flat 2 MiB in all failed once under a
	// load of 8 (2.8 MiB over, two splits); 1 MiB a stop still fails a
	// range that runs on towards the file's end. A segment fetched again
	// from its start is caught above, by the retries' offsets and the
	// bytes received.
	if out.Received < size || out.Received > size+5*overlapSize {
		t.Errorf("received %d bytes for %d, want at most 5 overlaps more", out.Received, size)
	}
	if stops := int64(3 + splits); st.BytesSent > size+stops<<20 {
		t.Errorf("server sent %d bytes for %d, more than 1 MiB over for each of %d stopped ranges", st.BytesSent, size, stops)
	}
	if st.MaxActiveConns < 4 {
		t.Errorf("at most %d connections at once, want 4", st.MaxActiveConns)
	}
	t.Logf("%+v; server sent %d bytes (%d over), %d connections", out, st.BytesSent, st.BytesSent-size, st.Connections)
}

// A segmented download cancelled mid-way keeps its ranges in the state
// file; a rerun resumes every segment where it stopped, and the server
// sends only the missing bytes (plus each resume's overlap).
func TestGetSegmentsCancelThenRerunResumesAll(t *testing.T) {
	t.Parallel()
	const size = 16 << 20
	payload := ftptest.RandomBytes(size)
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true, Faults: testserver.Faults{RateLimit: 2 << 20}})
	srv.WriteFile("/big", payload)
	dst := filepath.Join(t.TempDir(), "big")
	o := Options{Timeout: 5 * time.Second, Policy: fastRetries, Noops: &noop.Registry{}, Segments: 4}

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		wctx, wcancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer wcancel()
		srv.WaitStats(wctx, func(s testserver.Stats) bool { return s.BytesSent > 4<<20 })
		cancel()
	}()
	_, err := Get(ctx, target(t, srv.Addr(), "/big"), dst, o)
	if !errors.Is(err, context.Canceled) || Classify(err) != Intentional {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	part := dst + DefaultPartSuffix
	segs := segmentsOf(t, part)
	var have, resumes int64
	for _, s := range segs {
		if s.Done <= 0 || s.Done >= s.End-s.Start {
			t.Fatalf("segment %+v: every segment should be part-way", s)
		}
		have += s.Done
		resumes += min(s.Done, overlapSize)
	}
	if fi, err := os.Stat(part); err != nil || fi.Size() != size {
		t.Fatalf("partial file: %v (want it preallocated to %d)", err, size)
	}
	before := srv.Stats()

	// The rerun: Segments unset, the state file says it is segmented.
	srv.SetFaults(testserver.Faults{RateLimit: 32 << 20})
	o.Segments = 0
	var ev eventLog
	o.Events = ev.add
	out, err := Get(t.Context(), target(t, srv.Addr(), "/big"), dst, o)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	checkFile(t, dst, payload)
	after := srv.Stats()
	if n, splits := after.Downloads-before.Downloads, int64(ev.count(EventSplit)); n != int64(len(segs))+splits && n != int64(len(segs))-1+splits {
		t.Errorf("rerun made %d RETRs, want one per unfinished segment (%d) and one per split (%d)", n, len(segs), splits)
	}
	// keepftp took exactly the missing bytes and each resume's overlap; the
	// server sent those and little more (a stopped range may overrun by what
	// was in flight), far from the whole file.
	want := size - have + resumes
	if out.Received != want {
		t.Errorf("rerun received %d bytes, want the %d missing + %d overlap", out.Received, size-have, resumes)
	}
	sent := after.BytesSent - before.BytesSent
	if sent < want || sent > want+(size-want)/2 {
		t.Errorf("rerun: server sent %d bytes, want the %d missing (+%d overlap) and little more", sent, size-have, resumes)
	}
	t.Logf("cancelled with %d of %d bytes in %d segments; rerun fetched %d; %+v", have, size, len(segs), sent, out)
}

// Where the server refuses REST the download goes in one stream; a small
// file too.
func TestGetSegmentsFallBackToOneStream(t *testing.T) {
	t.Parallel()
	t.Run("small", func(t *testing.T) {
		payload := ftptest.RandomBytes(1 << 20)
		srv := ftptest.StartServer(t, testserver.Options{})
		srv.WriteFile("/f", payload)
		dst := filepath.Join(t.TempDir(), "f")
		if _, err := Get(t.Context(), target(t, srv.Addr(), "/f"), dst, Options{Timeout: 5 * time.Second, Policy: fastRetries, Segments: 4}); err != nil {
			t.Fatal(err)
		}
		checkFile(t, dst, payload)
		if st := srv.Stats(); st.Downloads != 1 {
			t.Errorf("%d RETRs for a small file, want 1", st.Downloads)
		}
	})
	t.Run("REST ignored", func(t *testing.T) {
		payload := ftptest.RandomBytes(8 << 20)
		srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{IgnoreREST: true, RateLimit: 64 << 20}})
		srv.WriteFile("/f", payload)
		dst := filepath.Join(t.TempDir(), "f")
		var ev eventLog
		out, err := Get(t.Context(), target(t, srv.Addr(), "/f"), dst, Options{Timeout: 5 * time.Second, Policy: fastRetries, Segments: 4, Events: ev.add})
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, dst, payload)
		// The ranges' partial file is given up: one restart, in one stream.
		if ev.count(EventRestart) != 1 || out.Status != "complete" {
			t.Errorf("%d restarts, %+v; want one restart and a complete file", ev.count(EventRestart), out)
		}
	})
}

// On every real server, through a middlebox that resets the second data
// connection after 1 MiB: four ranges, each stopped with ABOR where it
// ends (or where a split moved its end), one resumed after the cut; the
// file is right.
func TestGetSegmentsRealServers(t *testing.T) {
	t.Parallel()
	payload := ftptest.RandomBytes(8 << 20)
	for _, kind := range realserver.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			rs := realserver.Start(t, kind, realserver.Options{Digest: true})
			if err := rs.WriteFile("/big", payload); err != nil {
				t.Fatal(err)
			}
			mb := ftptest.StartMiddlebox(t, testserver.MiddleboxOptions{Target: rs.Addr, DataCutAfter: []int64{-1, 1 << 20}})
			user, pass := rs.Login()
			tg := target(t, mb.Addr(), "/big")
			tg.User, tg.Password = user, pass
			dst := filepath.Join(t.TempDir(), "big")
			var ev eventLog
			out, err := Get(t.Context(), tg, dst, Options{Timeout: 5 * time.Second, Policy: fastRetries, Noops: &noop.Registry{}, Segments: 4, Events: ev.add})
			if err != nil {
				t.Fatalf("Get: %v\n%s", err, rs.Logs())
			}
			checkFile(t, dst, payload)
			// A connection that finished its range takes over half of an
			// open one (a split): that range may end before the cut.
			retries, splits := ev.count(EventRetry), ev.count(EventSplit)
			if retries > 1 || mb.Stats().DataFlows != int64(4+retries+splits) {
				t.Errorf("%d retries and %d splits over %d data connections; want at most 1 retry and one connection per range, retry and split", retries, splits, mb.Stats().DataFlows)
			}
			t.Logf("%s: %+v; %d retries, %d splits", kind, out, retries, splits)
		})
	}
}

// Each segment's transfer keeps its own control connection alive: with a
// short keepalive, NOOPs go out while the ranges run, and the ranges still
// complete (their stops with ABOR sort the NOOP answers from the 426).
func TestGetSegmentsSendNoops(t *testing.T) {
	t.Parallel()
	payload := ftptest.RandomBytes(6 << 20)
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 4 << 20}})
	srv.WriteFile("/f", payload)
	dst := filepath.Join(t.TempDir(), "f")
	out, err := Get(t.Context(), target(t, srv.Addr(), "/f"), dst, Options{
		Timeout: 5 * time.Second, Keepalive: 100 * time.Millisecond, Policy: fastRetries, Noops: &noop.Registry{}, Segments: 3,
	})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkFile(t, dst, payload)
	// Each range takes about 0.5 s at the server's rate: several NOOPs on
	// each of the three connections.
	if st := srv.Stats(); st.Noops < 3 || st.Downloads != 3 {
		t.Errorf("%d NOOPs over %d RETRs; want NOOPs during the 3 ranges", st.Noops, st.Downloads)
	}
	t.Logf("%+v; %d NOOPs", out, srv.Stats().Noops)
}
