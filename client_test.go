package keepftp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"

	"github.com/keepftp/keepftp/testserver"
)

// One Client used from many goroutines: every file right, never more
// connections than Options.Parallel.
func TestClientConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 8 << 20}})
	files := map[string][]byte{}
	for i := range 20 {
		name := fmt.Sprintf("/f%02d", i)
		files[name] = ftptest.RandomBytes(64<<10 + i)
		srv.WriteFile(name, files[name])
	}
	c := NewClient(Options{Parallel: 3})
	defer c.Close()
	dir := t.TempDir()
	var wg sync.WaitGroup
	for name := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(t.Context(), "ftp://"+srv.Addr()+name, filepath.Join(dir, name)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}
	wg.Wait()
	for name, want := range files {
		got, _ := os.ReadFile(filepath.Join(dir, name))
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs", name)
		}
	}
	if st := srv.Stats(); st.MaxActiveConns > 3 || st.Connections > 3 {
		t.Errorf("%d connections, %d at once; want at most 3, reused", st.Connections, st.MaxActiveConns)
	}
}

// An idle pooled connection behind a NAT that forgets silent flows after
// 1.5 s is kept alive by NOOP (every 500 ms: a second to spare on a loaded
// machine), and reused for the next file.
func TestPoolKeepsIdleConnectionsAlive(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/a", []byte("first"))
	srv.WriteFile("/b", []byte("second"))
	mb, err := testserver.NewMiddlebox(testserver.MiddleboxOptions{Target: srv.Addr(), IdleTimeout: 1500 * time.Millisecond, Mode: testserver.ExpireBlackhole})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	c := NewClient(Options{Parallel: 1, Timeout: 2 * time.Second})
	defer c.Close()
	dir := t.TempDir()
	if _, err := c.Get(t.Context(), "ftp://"+mb.Addr()+"/a", filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	// Idle for a while: six keepalives (every 500 ms) is twice the
	// middlebox's idle limit.
	noops := srv.Stats().Noops
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := srv.WaitStats(ctx, func(s testserver.Stats) bool { return s.Noops >= noops+6 }); err != nil {
		t.Fatalf("no NOOPs on the idle connection: %v", err)
	}
	if _, err := c.Get(t.Context(), "ftp://"+mb.Addr()+"/b", filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	if st := mb.Stats(); st.Sessions != 1 || st.Expired != 0 {
		t.Errorf("middlebox: %d sessions, %d expired; want the one connection kept alive", st.Sessions, st.Expired)
	}
}

func TestSafeName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"a.txt": true, "..foo": true, "a b": true, "": false, ".": false, "..": false, "../x": false, "a/b": false, `a\b`: false, "a\x00": false} {
		if SafeName(name) != want {
			t.Errorf("SafeName(%q) = %v", name, !want)
		}
	}
}

// A hostile listing's "../" names are refused, never followed: nothing is
// written outside the mirror's directory.
func TestMirrorRefusesHostileNames(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/pub/ok.txt", []byte("ok"))
	// A name with a backslash passes as one name on the server but would
	// be a path on some systems: refused like "..".
	srv.WriteFile(`/pub/evil\..\x`, []byte("evil"))
	c := NewClient(Options{Parallel: 2})
	defer c.Close()
	base := t.TempDir()
	dir := filepath.Join(base, "m")
	results, err := c.Mirror(t.Context(), "ftp://"+srv.Addr()+"/pub", dir)
	if err != nil {
		t.Fatal(err)
	}
	var refused, done int
	for _, r := range results {
		switch {
		case r.Err != nil:
			refused++
		default:
			done++
		}
	}
	if refused != 1 || done != 1 {
		t.Errorf("%d refused, %d done; want 1 and 1: %+v", refused, done, results)
	}
	entries, _ := os.ReadDir(base)
	if len(entries) != 1 {
		t.Errorf("files outside the mirror: %v", entries)
	}
}
