package keepftp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
)

// limitRun is one mirror run (a Client of its own) and what it showed.
type limitRun struct {
	retries int
	notes   protoLog
	p       profile.Profile
}

// mirrorLimited mirrors /tree of srv at -P 8 into a new folder, checks
// every file, and loads the profile the run left.
func mirrorLimited(t *testing.T, addr, profDir string, files map[string][]byte) *limitRun {
	t.Helper()
	r := &limitRun{}
	var mu sync.Mutex
	c := NewClient(Options{Timeout: 5 * time.Second, Retry: RetryPolicy{Retries: 3, BaseDelay: 200 * time.Millisecond}, ProfileDir: profDir, Parallel: 8, Logf: r.notes.logf, Events: func(e Event) {
		if e.Kind == EventRetry {
			mu.Lock()
			r.retries++
			mu.Unlock()
		}
	}})
	dir := t.TempDir()
	results, err := c.Mirror(t.Context(), "ftp://"+addr+"/tree", dir)
	c.Close()
	if err != nil {
		t.Fatalf("mirror: %v\n%s", err, r.notes.String())
	}
	for _, res := range results {
		if res.Err != nil {
			t.Errorf("%s: %v", res.URL, res.Err)
		}
	}
	for name, data := range files {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %v, %d bytes, want %d", name, err, len(got), len(data))
		}
	}
	s, _ := profile.Open(profDir)
	r.p, _, _ = s.Load(profile.Key{Addr: addr})
	return r
}

func limitedTree(t *testing.T, srv *testserver.Server) map[string][]byte {
	files := map[string][]byte{}
	for i := range 12 {
		name := fmt.Sprintf("f%02d", i)
		files[name] = ftptest.RandomBytes(64<<10 + i)
		srv.WriteFile("/tree/"+name, files[name])
	}
	return files
}

// TestConnLimitLearned: a server that takes 2 connections at once from a
// client and refuses the third with 421 at the greeting. A mirror at -P 8
// runs on the 2 it accepts, every file arrives, and no refusal costs a
// retry; the profile remembers the limit. The next run starts at it and
// tries one more (the fact was seen once): one refusal, confirmed. The
// run after that is refused nothing.
func TestConnLimitLearned(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{MaxConnsPerIP: 2, Faults: testserver.Faults{RateLimit: 1 << 20}})
	files := limitedTree(t, srv)
	dir := t.TempDir()
	for run, want := range []struct {
		seen       int
		maxRefused int64
	}{{1, 6}, {2, 1}, {2, 0}} {
		// The last run's sessions end at the server a moment after its
		// Close (QUIT is written, not waited for): a session still open
		// there would count against this run's limit (seen once in a
		// loaded CI run). Bounded: 5 s.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		srv.WaitStats(ctx, func(s testserver.Stats) bool { return s.ActiveConns == 0 })
		cancel()
		before := srv.Stats().Refused
		r := mirrorLimited(t, srv.Addr(), dir, files)
		refused := srv.Stats().Refused - before
		t.Logf("run %d: %d refused, %d retries, profile %+v", run+1, refused, r.retries, r.p.Conns)
		if run == 0 && refused == 0 {
			t.Fatal("the first run was refused nothing: the limit was not reached")
		}
		if refused > want.maxRefused {
			t.Errorf("run %d: %d connections refused, want at most %d\n%s", run+1, refused, want.maxRefused, r.notes.String())
		}
		if r.retries != 0 {
			t.Errorf("run %d: %d retries: refusals counted against files\n%s", run+1, r.retries, r.notes.String())
		}
		if c := r.p.Conns; c == nil || c.Max != 2 || c.Seen != want.seen || c.Source != profile.SourceRefused {
			t.Errorf("run %d: profile's limit %+v, want 2 seen %d", run+1, c, want.seen)
		}
	}
}

// TestConnLimitRaisedIsFound: the profile says 1 (seen twice, two days
// ago: due for a retest) but the server now takes 3. The run tries one
// more at a time, is refused once, at the fourth, and remembers 3.
func TestConnLimitRaisedIsFound(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{MaxConnsPerIP: 3, Faults: testserver.Faults{RateLimit: 1 << 20}})
	files := limitedTree(t, srv)
	dir := t.TempDir()
	s, _ := profile.Open(dir)
	s.Update(profile.Key{Addr: srv.Addr()}, func(p *profile.Profile) {
		p.LearnConns(1, true, time.Now().Add(-72*time.Hour))
		p.LearnConns(1, true, time.Now().Add(-48*time.Hour))
	})
	r := mirrorLimited(t, srv.Addr(), dir, files)
	if n := srv.Stats().Refused; n > 1 {
		t.Errorf("%d refused, want at most 1", n)
	}
	if c := r.p.Conns; c == nil || c.Max != 3 {
		t.Errorf("profile's limit %+v, want 3\n%s", c, r.notes.String())
	}
	if n := srv.Stats().MaxActiveConns; n != 3 {
		t.Errorf("at most %d connections at once, want the 3 the server takes", n)
	}
}

// TestConnLimitBusyIsNotTheLimit: a server that takes 3 connections at
// once from a client. The pool has 3 open when the path loses one: the
// client sees it reset, the server keeps the session (as it does one whose
// flow a NAT dropped, until its own timeout). The connection dialled in
// its place is refused while 2 are open, fewer than the 3 the server took:
// that is not the limit. The pool tries again later, and again, and once
// the lost session ends at the server it gets the third connection back;
// the profile learns no limit from it.
func TestConnLimitBusyIsNotTheLimit(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{MaxConnsPerIP: 3})
	path := &lossyPath{control: srv.Addr()}
	t.Cleanup(path.end)
	var notes protoLog
	dir := t.TempDir()
	c := NewClient(Options{Timeout: 5 * time.Second, Retry: RetryPolicy{BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		ProfileDir: dir, Parallel: 3, DialContext: path.DialContext, Logf: notes.logf})
	defer c.Close()
	target := resume.Target{Addr: srv.Addr(), Path: "/"}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	var held []*control.Conn
	for range 3 {
		cc, err := c.pool.Conn(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, cc)
	}
	path.lose(2)
	c.pool.Release(held[2], false) // found dead, as a transfer on it would
	held = held[:2]

	got := make(chan error, 1)
	go func() {
		cc, err := c.pool.Conn(ctx, target)
		if err == nil {
			held = append(held, cc)
		}
		got <- err
	}()
	// Refused, and tried again: the slot was not given up for the run.
	if _, err := srv.WaitStats(ctx, func(s testserver.Stats) bool { return s.Refused >= 2 }); err != nil {
		waiting := "Conn still waiting"
		select {
		case err := <-got: // a refusal taken for something else returns at once
			waiting = fmt.Sprintf("Conn returned %v", err)
		default:
		}
		t.Fatalf("refused %d times, want a refusal tried again: %v (%s)\n%s", srv.Stats().Refused, err, waiting, notes.String())
	}
	path.end() // the server's timeout ends the lost session
	if err := <-got; err != nil {
		t.Fatalf("no third connection once the lost session ended: %v\n%s", err, notes.String())
	}
	if n := len(held); n != 3 {
		t.Fatalf("%d connections open at once, want 3", n)
	}
	if !strings.Contains(notes.String(), "limit not learned") {
		t.Errorf("the busy refusal was not logged:\n%s", notes.String())
	}
	for _, cc := range held {
		c.pool.Release(cc, true)
	}
	c.Close()
	s, _ := profile.Open(dir)
	p, _, _ := s.Load(keyOf(target))
	if p.Conns != nil && p.Conns.Max < 3 {
		t.Errorf("profile's limit %+v: learned from sessions the path lost\n%s", p.Conns, notes.String())
	}
}

// lossyPath dials control connections to control through connections the
// test can lose on the way: the client then reads a reset, while the
// server's side stays open until end, as a session whose flow a NAT
// dropped stays open at the server until its own timeout ends it.
type lossyPath struct {
	control string

	mu    sync.Mutex
	conns []*lossyConn
}

func (p *lossyPath) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil || addr != p.control {
		return c, err
	}
	lc := &lossyConn{Conn: c}
	p.mu.Lock()
	p.conns = append(p.conns, lc)
	p.mu.Unlock()
	return lc, nil
}

// lose loses the n-th control connection dialled (from 0).
func (p *lossyPath) lose(n int) {
	p.mu.Lock()
	c := p.conns[n]
	p.mu.Unlock()
	c.mu.Lock()
	c.lost = true
	c.mu.Unlock()
	c.Conn.SetDeadline(time.Unix(1, 0)) // a read in progress reads the reset
}

// end closes the server's side of every connection lost.
func (p *lossyPath) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.mu.Lock()
		if c.lost {
			c.Conn.Close()
		}
		c.mu.Unlock()
	}
}

type lossyConn struct {
	net.Conn
	mu   sync.Mutex
	lost bool
}

func (c *lossyConn) isLost() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lost
}

var errPathReset = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

func (c *lossyConn) Read(b []byte) (int, error) {
	if c.isLost() {
		return 0, errPathReset
	}
	n, err := c.Conn.Read(b)
	if err != nil && c.isLost() {
		return n, errPathReset
	}
	return n, err
}

func (c *lossyConn) Write(b []byte) (int, error) {
	if c.isLost() {
		return 0, errPathReset
	}
	return c.Conn.Write(b)
}

// Close leaves a lost connection's socket open: the server's side of it
// is end's to close.
func (c *lossyConn) Close() error {
	if c.isLost() {
		return nil
	}
	return c.Conn.Close()
}
