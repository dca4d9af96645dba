package interop

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

// TestNoopFactsOnRealServers: on every real server (none of which aborts
// a transfer on NOOP), through a middlebox that stalls two data
// connections and resets two, with NOOPs every 100 ms, a profile seeded
// with a false "aborts on NOOP" (seen once: due for a retest) is
// corrected by the run, and the run learns no abort from the path's
// faults. The file arrives with its sha256.
func TestNoopFactsOnRealServers(t *testing.T) {
	for _, name := range serverNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			// More than the socket buffers on the way hold, so that the
			// server is still sending when NOOPs come: a server that has
			// handed the whole file to the kernel sends its 226 at once,
			// and NOOPs after it prove nothing.
			data := ftptest.RandomBytes(16 << 20)
			if err := s.write("/evidence.bin", data); err != nil {
				t.Fatal(err)
			}
			const never = 1 << 40
			p := s.path(t, testserver.MiddleboxOptions{
				DataRate:       16 << 20, // 1 s a file: NOOPs go during it
				DataStallAfter: []int64{1 << 20, 0, 1 << 20, 0},
				DataCutAfter:   []int64{never, 1 << 20, never, 1 << 20},
			})
			dir := t.TempDir()
			st, _ := profile.Open(dir)
			k := profile.Key{Addr: p.addr(), User: s.user}
			if err := st.Update(k, func(p *profile.Profile) { p.LearnNoop(noop.Aborts, profile.SourceTransfers, time.Now()) }); err != nil {
				t.Fatal(err)
			}
			o := p.clientOpts()
			o.Timeout = time.Second
			o.Keepalive = 100 * time.Millisecond
			var mu sync.Mutex
			var notes strings.Builder
			logf := func(f string, a ...any) { mu.Lock(); fmt.Fprintf(&notes, f+"\n", a...); mu.Unlock() }
			o.ProfileDir, o.Parallel, o.Logf = dir, 1, logf
			cl := keepftp.NewClient(o)
			dst := filepath.Join(t.TempDir(), "evidence.bin")
			_, err := cl.Get(t.Context(), s.url(p.addr(), "/evidence.bin"), dst)
			cl.Close()
			mu.Lock()
			log := notes.String()
			mu.Unlock()
			if err != nil {
				t.Fatalf("get: %v\n%s", err, log)
			}
			checkSHA(t, readLocal(t, dst), data)
			if n := p.mb.Stats().DataFlows; n < 5 {
				t.Fatalf("%d data flows: the faults did not all happen\n%s", n, log)
			}
			got, _, err := st.Load(k)
			if err != nil {
				t.Fatal(err)
			}
			if b := got.NoopBehaviour(); b == noop.Aborts || b == noop.Unknown || strings.Contains(log, "no more NOOPs") {
				t.Errorf("after a clean run with NOOPs through stalls and resets the profile says %q\n%s", got.Noop, log)
			}
			t.Logf("%s: NOOPs during transfers %q", name, got.Noop)
		})
	}
}
