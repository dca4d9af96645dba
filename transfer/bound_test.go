package transfer

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

// movingEnd is a Bound whose end moves from far to near once the download
// has passed at: what another connection stealing the rest does. It
// records the furthest offset it granted.
type movingEnd struct {
	mu            sync.Mutex
	at, far, near int64
	furthest      int64
	askedPastNear bool
}

func (b *movingEnd) Grant(pos, want int64) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	end := b.far
	if b.furthest >= b.at {
		end = max(b.near, b.furthest) // never back before what was granted
	}
	if pos > end {
		b.askedPastNear = true
	}
	g := max(min(want, end-pos), 0)
	b.furthest = max(b.furthest, pos+g)
	return g
}

// A download whose end moves closer while it runs stops there: it writes
// exactly up to the new end, succeeds with those bytes, aborts the rest,
// and leaves the control connection usable; on the zero-copy path and the
// buffered one (a rate limit), for a range and for a download to the
// file's end. It fails on code without Bound (the data goes to the old
// end).
func TestDownloadStopsWhereTheBoundMoved(t *testing.T) {
	payload := ftptest.RandomBytes(8 << 20)
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 64 << 20}})
	srv.WriteFile("/f", payload)
	for _, tc := range []struct {
		name  string
		whole bool
		rate  int64
	}{{"range", false, 0}, {"range, buffered", false, 32 << 20}, {"to the end", true, 0}, {"to the end, buffered", true, 32 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialTCP(t, srv.Addr(), 5*time.Second)
			f, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			const off = 1 << 20
			// The old end is the file's (or 7 MiB); past 2 MiB it moves to
			// 4 MiB, or to where the download already was granted.
			far := int64(7 << 20)
			if tc.whole {
				far = int64(len(payload))
			}
			b := &movingEnd{at: 2 << 20, far: far, near: 4 << 20}
			f.Seek(off, 0)
			o := Options{Bound: b, Limiter: NewLimiter(tc.rate)}
			var res Result
			if tc.whole {
				res, err = Download(t.Context(), c, "/f", off, int64(len(payload))-off, f, o)
			} else {
				res, err = DownloadRange(t.Context(), c, "/f", off, far-off, f, o)
			}
			end := b.furthest
			if err != nil || res.Bytes != end-off {
				t.Fatalf("%d bytes, %v; want %d (to the moved end %d)", res.Bytes, err, end-off, end)
			}
			if end >= far || end < 4<<20 || b.askedPastNear {
				t.Fatalf("stopped at %d (asked past it: %v), want the moved end 4 MiB or a little past", end, b.askedPastNear)
			}
			got, _ := os.ReadFile(f.Name())
			if int64(len(got)) != end || !bytes.Equal(got[off:], payload[off:end]) {
				t.Fatalf("file holds %d bytes, want %d matching the data", len(got), end)
			}
			if _, err := c.Pwd(t.Context()); err != nil {
				t.Fatalf("PWD after the download: %v", err)
			}
		})
	}
}
