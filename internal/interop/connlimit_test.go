package interop

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/testserver"
)

// TestConnLimitOnRealServers: each real server takes 2 connections at once
// from us (pure-ftpd -C 2, vsftpd max_per_ip=2, proftpd MaxClientsPerHost
// 2, pyftpdlib max_cons_per_ip). Three mirror runs at -P 8 of 12 files:
// every file arrives with its sha256, no refusal costs a retry, and the
// server's own log shows at most one refused connection in each run after
// the first (the second retests the remembered limit with one connection
// more; the third, within a day of two sightings, tries none).
func TestConnLimitOnRealServers(t *testing.T) {
	for _, kind := range realserver.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			rs := realserver.Start(t, kind, realserver.Options{MaxPerIP: 2})
			if _, ok := rs.Refusals(0); !ok {
				t.Skipf("%s's log cannot be read here (no mount namespace for its syslog)", kind)
			}
			user, pw := rs.Login()
			s := &server{name: string(kind), addr: rs.Addr, user: user, pw: pw, uploadDir: rs.UploadDir}
			// A middlebox in front counts the connections made (pure-ftpd
			// does not log each refusal: see Refusals).
			mb := s.middlebox(t, testserver.MiddleboxOptions{})
			refusals := func() int {
				n, _ := rs.Refusals(int(mb.Stats().Sessions))
				return n
			}
			top := path.Join(rs.UploadDir, "limited")
			files := map[string][]byte{}
			for i := range 12 {
				name := fmt.Sprintf("f%02d", i)
				files[name] = ftptest.RandomBytes(256<<10 + i)
				if err := rs.WriteFile(path.Join(top, name), files[name]); err != nil {
					t.Fatal(err)
				}
			}
			profDir := t.TempDir()
			for run := 1; run <= 3; run++ {
				// The sessions of the readiness check or of the run before
				// still count against the limit until their processes exit:
				// with none of ours open, a refusal then is not the limit
				// and would be retried.
				if !rs.WaitIdle(5 * time.Second) {
					t.Fatalf("run %d: the server's sessions did not end", run)
				}
				before := settled(refusals)
				var mu sync.Mutex
				var notes strings.Builder
				retries := 0
				o := s.clientOpts()
				o.Retry = keepftp.RetryPolicy{Retries: 3, BaseDelay: 200 * time.Millisecond}
				o.ProfileDir, o.Parallel = profDir, 8
				o.Logf = func(f string, a ...any) { mu.Lock(); fmt.Fprintf(&notes, f+"\n", a...); mu.Unlock() }
				o.Events = func(e keepftp.Event) {
					if e.Kind == keepftp.EventRetry {
						mu.Lock()
						retries++
						mu.Unlock()
					}
				}
				cl := keepftp.NewClient(o)
				dir := t.TempDir()
				results, err := cl.Mirror(t.Context(), s.url(mb.Addr(), top), dir)
				cl.Close()
				if err != nil {
					t.Fatalf("run %d: %v\n%s", run, err, notes.String())
				}
				for _, r := range results {
					if r.Err != nil {
						t.Errorf("run %d: %s: %v", run, r.URL, r.Err)
					}
				}
				for name, data := range files {
					got, err := os.ReadFile(filepath.Join(dir, name))
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("run %d: %s: %v, %d bytes, want %d", run, name, err, len(got), len(data))
					}
					checkSHA(t, got, data)
				}
				refused := settled(refusals) - before
				st, _ := profile.Open(profDir)
				p, _, _ := st.Load(profile.Key{Addr: mb.Addr(), User: user})
				t.Logf("run %d: the server's log shows %d refused connections; %d retries; remembered %+v", run, refused, retries, p.Conns)
				if run == 1 && refused == 0 {
					t.Fatal("the first run reached no limit")
				}
				if run > 1 && refused > 1 {
					t.Errorf("run %d: the server refused %d connections, want at most 1\n%s", run, refused, notes.String())
				}
				if retries != 0 {
					t.Errorf("run %d: %d retries\n%s", run, retries, notes.String())
				}
				if p.Conns == nil || p.Conns.Max < 1 || p.Conns.Max > 2 {
					t.Errorf("run %d: remembered limit %+v, want 2 (or 1 where a closed session lingered)", run, p.Conns)
				}
			}
		})
	}
}

// settled returns count() once it stopped changing (a log line may be
// written just after the client saw the refusal), within a second.
func settled(count func() int) int {
	n := count()
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		m := count()
		if m == n {
			return n
		}
		n = m
	}
	return n
}
