package keepftp

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
)

// Listings and MkdirAll are tried again under the same retry policy as
// transfers: as many times as it allows, after its backoff, with a retry
// event each time, and then given up with its ErrGaveUp.
func TestListingAndMkdirRetryUnderThePolicy(t *testing.T) {
	t.Parallel()
	fake := ftptest.StartFake(t)
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	fake.WriteFile("/d/a", []byte("aaa"), mtime)
	var mu sync.Mutex
	fails := map[string]int{"LIST /d": 4, "MKD /up": 3, "LIST /never": 1 << 30}
	fake.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		mu.Lock()
		defer mu.Unlock()
		k := verb + " " + arg
		if fails[k] > 0 {
			fails[k]--
			s.Reply("450 busy, try later")
			return true
		}
		return false
	}
	var events []Event
	c := NewClient(Options{NoProfile: true, Parallel: 1, Events: func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}, Retry: RetryPolicy{Retries: 5, MaxAttempts: 20, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}})
	defer c.Close()
	base := "ftp://" + fake.Addr()

	// Four failures in a row: more than the old three tries, within the
	// policy's five retries.
	m, err := c.Mirror(t.Context(), base+"/d", t.TempDir())
	if err != nil || len(m) != 1 || m[0].Err != nil {
		t.Fatalf("mirror of a folder whose listing failed 4 times: %v %+v", err, m)
	}
	if err := c.MkdirAll(t.Context(), base+"/up"); err != nil {
		t.Fatalf("MkdirAll after 3 refusals that may pass: %v", err)
	}
	if n := fake.Count("MKD"); n != 4 {
		t.Errorf("%d MKD, want 4 (3 refused, then made)", n)
	}
	mu.Lock()
	retries := map[string]int{}
	for _, e := range events {
		if e.Kind == EventRetry {
			retries[e.URL]++
		}
	}
	mu.Unlock()
	if retries[base+"/d"] != 4 || retries[base+"/up"] != 3 {
		t.Errorf("retry events %v, want 4 for the listing and 3 for MkdirAll", retries)
	}

	// A listing that keeps failing ends when the policy gives up.
	_, err = c.Mirror(t.Context(), base+"/never", t.TempDir())
	if !errors.Is(err, resume.ErrGaveUp) || Classify(err) != Transient {
		t.Errorf("err = %v (%v), want the policy's give-up, transient", err, Classify(err))
	}
	if n := fake.Count("LIST"); n != 5+6 {
		t.Errorf("%d LIST in all, want 11: 5 for /d, 6 (one and five retries) for /never", n)
	}
}
