package keepftp

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
)

// The pool is mechanism: it opens connections with the dial function it
// is given, tells the release hook of each one it is done with, keeps an
// idle one alive at the interval the hook returns, and asks the limit
// memory, never a profile store.
func TestPoolTakesDialAndReleaseHooks(t *testing.T) {
	t.Parallel()
	fake := ftptest.StartFake(t)
	target := resume.Target{Addr: fake.Addr(), Path: "/"}
	var mu sync.Mutex
	dials, released, dead := 0, 0, 0
	dial := func(ctx context.Context, tt resume.Target) (*control.Conn, error) {
		mu.Lock()
		dials++
		mu.Unlock()
		return control.Dial(ctx, tt.Addr, control.Config{Timeout: 30 * time.Second})
	}
	release := func(tt resume.Target, c *control.Conn, healthy bool) noop.Schedule {
		mu.Lock()
		defer mu.Unlock()
		if tt.Addr != target.Addr {
			t.Errorf("release told of %s, want %s", tt.Addr, target.Addr)
		}
		if healthy {
			released++
		} else {
			dead++
		}
		return noop.Schedule{Every: time.Hour} // nothing sent while the test runs
	}
	mem := &limitRecorder{}
	p := newPool(2, dial, release, mem, nil)

	c1, err := p.Conn(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	p.Release(c1, true)
	c2, err := p.Conn(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	if c2 != c1 {
		t.Errorf("the idle connection was not reused")
	}
	c2.Close() // broken while in use
	p.Release(c2, false)
	c3, err := p.Conn(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	p.Release(c3, true)
	p.close()

	mu.Lock()
	defer mu.Unlock()
	if dials != 2 || released != 2 || dead != 1 {
		t.Errorf("dials %d, healthy releases %d, broken %d; want 2, 2, 1", dials, released, dead)
	}
	if mem.asked != 1 || mem.n != 1 || mem.refused {
		t.Errorf("limit memory: asked %d times, learned %d (refused %v); want asked once, 1 open at most, none refused", mem.asked, mem.n, mem.refused)
	}
	if n := fake.Count("QUIT"); n != 1 {
		t.Errorf("%d QUIT at close, want 1 (the idle connection)", n)
	}
}

type limitRecorder struct {
	asked   int
	n       int
	refused bool
}

func (l *limitRecorder) limit(resume.Target) (int, bool) { l.asked++; return 0, false }
func (l *limitRecorder) learnLimit(_ resume.Target, n int, refused bool) {
	l.n, l.refused = n, refused
}
