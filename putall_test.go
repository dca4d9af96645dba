package keepftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
	"github.com/spf13/afero"
)

// PutAll uploads a batch into directories it makes first, par at a time,
// within MaxConns connections.
func TestPutAll(t *testing.T) {
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
	c := NewClient(Options{MaxConns: 3, Transfer: resume.Options{Noops: &noop.Registry{}}})
	defer c.Close()
	for i, r := range c.PutAll(t.Context(), ups, 3) {
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

// Once the context is cancelled PutAll starts no more uploads: the ones
// left report the cancellation and never reach the server.
func TestPutAllStopsOnCancel(t *testing.T) {
	srv := ftptest.StartServer(t, testserver.Options{})
	dir := t.TempDir()
	var ups []Upload
	for i := range 40 {
		name := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		os.WriteFile(name, ftptest.RandomBytes(64<<10), 0o644)
		ups = append(ups, Upload{Src: name, URL: fmt.Sprintf("ftp://%s/up/f%02d", srv.Addr(), i)})
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var done atomic.Int32
	c := NewClient(Options{MaxConns: 2, Transfer: resume.Options{Noops: &noop.Registry{}, RateLimit: 256 << 10},
		Events: func(e Event) {
			if e.Kind == EventDone && done.Add(1) == 2 {
				cancel() // as Ctrl-C would, after two files
			}
		}})
	defer c.Close()
	results := c.PutAll(ctx, ups, 2)
	cancelled := 0
	for _, r := range results {
		if errors.Is(r.Err, context.Canceled) {
			cancelled++
		}
	}
	if uploads := srv.Stats().Uploads; uploads > 6 || cancelled < len(ups)-6 {
		t.Errorf("after cancel: %d uploads reached the server, %d of %d reported cancelled", uploads, cancelled, len(ups))
	}
}
