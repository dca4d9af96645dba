package profile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/noop"
)

// TestOldProfilesLoad: profiles written before facts carried evidence
// (testdata) still load; each fact counts as seen once, when it was
// learned or, without that, when the profile was last updated.
func TestOldProfilesLoad(t *testing.T) {
	for _, name := range []string{"full.json", "old-aborts.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		s := &Store{Dir: t.TempDir()}
		k := Key{Addr: "ftp.example.org:21"}
		os.WriteFile(s.Path(k), b, 0o600)
		p, ok, err := s.Load(k)
		if !ok || err != nil {
			t.Fatalf("%s: %v, %v", name, ok, err)
		}
		updated := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
		if p.Idle == nil || p.Idle.Source == "" || p.Idle.Learned.IsZero() {
			t.Errorf("%s: idle %+v", name, p.Idle)
		}
		var text bytes.Buffer
		p.WriteText(&text)
		if !strings.Contains(text.String(), "seen once") {
			t.Errorf("%s: text lacks how sure the facts are:\n%s", name, text.String())
		}
		if name != "old-aborts.json" {
			continue
		}
		// An old "aborts" is retested by the next run, and forgotten a
		// week after it was written.
		if b, retest := p.NoopFact(updated.Add(time.Hour)); b != noop.Aborts || !retest {
			t.Errorf("old abort an hour later: %v, retest %v; want aborts, retested", b, retest)
		}
		if b, _ := p.NoopFact(updated.Add(WeakeningKept + time.Hour)); b != noop.Unknown {
			t.Errorf("old abort after %v: %v, want forgotten", WeakeningKept, b)
		}
		q := p
		if gone := q.Expire(updated.Add(WeakeningKept + time.Hour)); len(gone) != 1 || q.Noop != "" || q.Idle == nil {
			t.Errorf("Expire a week on removed %q (noop %q, idle %+v); want only the abort", gone, q.Noop, q.Idle)
		}
		if gone := q.Expire(updated.Add(IdleKept + 48*time.Hour)); len(gone) != 1 || q.Idle != nil {
			t.Errorf("Expire a month on removed %q, idle %+v; want the idle limit", gone, q.Idle)
		}
	}
}

// TestNoopFactConfidence: an abort seen by one run is retested by the
// next; seen by two runs it is applied without a retest for a day, then
// retested; a week after it was last seen it is forgotten. Another
// behaviour replaces it at once.
func TestNoopFactConfidence(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	var p Profile
	p.Updated = t0
	if !p.LearnNoop(noop.Aborts, SourceTransfers, t0) {
		t.Fatal("learning an abort changed nothing")
	}
	if b, retest := p.NoopFact(t0.Add(time.Minute)); b != noop.Aborts || !retest {
		t.Errorf("seen once: %v, retest %v; want aborts, retested", b, retest)
	}
	p.LearnNoop(noop.Aborts, SourceTransfers, t0.Add(time.Hour))
	if p.NoopEvidence.Seen != 2 || !p.NoopEvidence.Last.Equal(t0.Add(time.Hour)) || !p.NoopEvidence.Learned.Equal(t0) {
		t.Errorf("confirmed: evidence %+v", p.NoopEvidence)
	}
	if b, retest := p.NoopFact(t0.Add(2 * time.Hour)); b != noop.Aborts || retest {
		t.Errorf("seen twice, an hour ago: %v, retest %v; want aborts, not retested", b, retest)
	}
	if _, retest := p.NoopFact(t0.Add(time.Hour + RetestAfter + time.Minute)); !retest {
		t.Errorf("seen twice, over %v ago: not retested", RetestAfter)
	}
	if b, _ := p.NoopFact(t0.Add(time.Hour + WeakeningKept + time.Minute)); b != noop.Unknown {
		t.Errorf("last seen over %v ago: %v, want forgotten", WeakeningKept, b)
	}
	if !p.LearnNoop(noop.AfterFinal, SourceTransfers, t0.Add(3*time.Hour)) || p.NoopBehaviour() != noop.AfterFinal || p.NoopEvidence.Seen != 1 {
		t.Errorf("a clean transfer did not replace the abort: %q %+v", p.Noop, p.NoopEvidence)
	}
	if p.LearnNoop(noop.AfterFinal, SourceTransfers, t0.Add(4*time.Hour)) || p.LearnNoop(noop.Unknown, SourceTransfers, t0) {
		t.Error("the same non-weakening behaviour, or none, changed the profile")
	}
}

// TestConnsFact: a refused connection with N open teaches a limit of N; a
// run that had more open without a refusal drops it; the limit is retested
// and forgotten like other weakening facts.
func TestConnsFact(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	var p Profile
	if n, _ := p.ConnsFact(t0); n != 0 || p.LearnConns(0, true, t0) || p.LearnConns(3, false, t0) {
		t.Fatal("a limit out of nothing")
	}
	if !p.LearnConns(2, true, t0) || p.Conns.Max != 2 || p.Conns.Source != SourceRefused {
		t.Fatalf("refused at 2: %+v", p.Conns)
	}
	if n, retest := p.ConnsFact(t0.Add(time.Minute)); n != 2 || !retest {
		t.Errorf("seen once: %d, retest %v; want 2, retested", n, retest)
	}
	p.LearnConns(2, true, t0.Add(time.Hour))
	if n, retest := p.ConnsFact(t0.Add(2 * time.Hour)); n != 2 || retest || p.Conns.Seen != 2 {
		t.Errorf("seen twice: %d, retest %v (%+v)", n, retest, p.Conns)
	}
	if n, _ := p.ConnsFact(t0.Add(time.Hour + WeakeningKept + time.Minute)); n != 0 {
		t.Errorf("a week on: limit %d, want forgotten", n)
	}
	if !p.LearnConns(1, true, t0.Add(3*time.Hour)) || p.Conns.Max != 1 || p.Conns.Seen != 1 {
		t.Errorf("refused at 1: %+v", p.Conns)
	}
	if p.LearnConns(1, false, t0) {
		t.Error("a run within the limit changed it")
	}
	if !p.LearnConns(4, false, t0.Add(4*time.Hour)) || p.Conns != nil {
		t.Errorf("4 open without a refusal: limit %+v, want none", p.Conns)
	}
}
