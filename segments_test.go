package keepftp

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// The library's segmented download: Options.Segments fetches one
// file over that many connections at once, even with a pool of one, and
// survives a cut in one of them.
func TestClientGetSegments(t *testing.T) {
	t.Parallel()
	payload := ftptest.RandomBytes(12 << 20)
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true, Faults: testserver.Faults{
		RateLimit: 16 << 20, CutAfter: []int64{-1, 1 << 20},
	}})
	srv.WriteFile("/big", payload)
	var mu sync.Mutex
	kinds := map[EventKind]int{}
	c := NewClient(Options{Parallel: 1, Events: func(e Event) {
		mu.Lock()
		kinds[e.Kind]++
		mu.Unlock()
	}, Segments: 3, Retry: RetryPolicy{Retries: 3, MaxAttempts: 10, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}})
	defer c.Close()
	dst := filepath.Join(t.TempDir(), "big")
	out, err := c.Get(t.Context(), "ftp://"+srv.Addr()+"/big", dst)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, payload) {
		t.Fatal("file differs")
	}
	if out.Verified != "SHA-256" {
		t.Errorf("verified by %q, want SHA-256", out.Verified)
	}
	mu.Lock()
	defer mu.Unlock()
	// A connection that finished its range may take over half of a slow
	// one's (a split: one RETR more), as a loaded machine makes some.
	if st := srv.Stats(); st.MaxActiveConns < 3 || st.Downloads != 4+int64(kinds["split"]) {
		t.Errorf("%d connections at once and %d RETRs with %d splits; want 3 segments at once, one retried", st.MaxActiveConns, st.Downloads, kinds["split"])
	}
	if kinds["retry"] != 1 || kinds["done"] != 1 {
		t.Errorf("events %v: want one retry and one done", kinds)
	}
}
