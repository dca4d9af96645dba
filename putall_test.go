package keepftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
	"github.com/spf13/afero"
)

// PutAll uploads a batch into directories it makes first, par at a time,
// within Options.Parallel connections.
func TestPutAll(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	dir := t.TempDir()
	var ups []Upload
	want := map[string][]byte{}
	for i := range 12 {
		name := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		data := ftptest.RandomBytes(20<<10 + i)
		os.WriteFile(name, data, 0o644)
		remote := fmt.Sprintf("/up/d%d/f%02d", i%3, i)
		want[remote] = data
		ups = append(ups, Upload{Src: name, URL: "ftp://" + srv.Addr() + remote})
	}
	c := NewClient(Options{Parallel: 3})
	defer c.Close()
	for i, r := range c.PutAll(t.Context(), ups) {
		if r.Err != nil || r.Local != ups[i].Src {
			t.Errorf("%s: %+v", ups[i].URL, r)
		}
	}
	for remote, data := range want {
		if got, err := afero.ReadFile(srv.Fs(), remote); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %v, %d bytes", remote, err, len(got))
		}
	}
	if st := srv.Stats(); st.MaxActiveConns > 3 {
		t.Errorf("%d connections at once, want at most 3", st.MaxActiveConns)
	}
}

// Once the context is cancelled PutAll starts no more uploads. The cancel
// lands while both workers are mid-upload (data flowing: their STORs have
// reached the server), after two files are done; from then on the server
// sees no STOR, the Client reports no start, and the uploads never started
// report the cancellation and leave nothing on the server.
func TestPutAllStopsOnCancel(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	dir := t.TempDir()
	var ups []Upload
	for i := range 40 {
		name := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		os.WriteFile(name, ftptest.RandomBytes(128<<10), 0o644)
		ups = append(ups, Upload{Src: name, URL: fmt.Sprintf("ftp://%s/up/f%02d", srv.Addr(), i)})
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var (
		mu                sync.Mutex
		flowing           = map[string]bool{} // uploads whose data is moving
		started           = map[string]bool{}
		done              int
		cancelled         bool
		storsAtCancel     int64
		startsAfterCancel []string
	)
	events := func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case EventStart:
			started[e.Local] = true
			if cancelled {
				startsAfterCancel = append(startsAfterCancel, e.Local)
			}
		case EventProgress:
			if e.Bytes > 0 {
				flowing[e.Local] = true
			}
		case EventDone, EventError:
			delete(flowing, e.Local)
			if e.Kind == EventDone {
				done++
			}
		}
		if !cancelled && done >= 2 && len(flowing) == 2 {
			cancelled = true
			storsAtCancel = srv.Stats().Uploads
			cancel() // as Ctrl-C would
		}
	}
	c := NewClient(Options{Parallel: 2, ProgressEvery: time.Millisecond, Events: events,
		RateLimit: 256 << 10}) // half a second a file
	defer c.Close()
	results := c.PutAll(ctx, ups)
	c.Close()
	wait, stop := context.WithTimeout(t.Context(), 10*time.Second) // a bound, not a measure
	defer stop()
	srv.WaitStats(wait, func(st testserver.Stats) bool { return st.ActiveConns == 0 })

	mu.Lock()
	defer mu.Unlock()
	if !cancelled {
		t.Fatalf("never two uploads flowing at once after two done: %d done", done)
	}
	if n := srv.Stats().Uploads; n != storsAtCancel {
		t.Errorf("the server saw %d STORs, %d of them after the cancel", n, n-storsAtCancel)
	}
	if len(startsAfterCancel) > 0 {
		t.Errorf("uploads started after the cancel: %v", startsAfterCancel)
	}
	notStarted := 0
	for i, r := range results {
		if started[ups[i].Src] {
			continue
		}
		notStarted++
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("%s, never started: %v, want the cancellation", ups[i].URL, r.Err)
		}
		if _, err := srv.Fs().Stat(fmt.Sprintf("/up/f%02d", i)); err == nil {
			t.Errorf("%s, never started, is on the server", ups[i].URL)
		}
	}
	if notStarted < len(ups)-int(storsAtCancel) {
		t.Errorf("%d uploads never started, want %d (%d STORs before the cancel)", notStarted, len(ups)-int(storsAtCancel), storsAtCancel)
	}
}
