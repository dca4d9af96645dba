package transfer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/testserver"
)

// A range download stops at the range's end: it writes exactly that range
// at the file's offset, aborts the rest, and leaves the control connection
// usable for the next range, on the embedded server and on real ones.
func TestDownloadRangeStopsAndKeepsConnection(t *testing.T) {
	t.Parallel()
	payload := ftptest.RandomBytes(8 << 20)
	check := func(t *testing.T, c *control.Conn, sent func() int64) {
		dir := t.TempDir()
		f, err := os.Create(filepath.Join(dir, "out"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		// Two ranges on one connection, the later first; the second starts
		// with an overlap that must repeat the first's last bytes.
		ranges := []struct{ off, n int64 }{{5 << 20, 1 << 20}, {1 << 20, 2 << 20}}
		for _, r := range ranges {
			if _, err := f.Seek(r.off, 0); err != nil {
				t.Fatal(err)
			}
			before := sent()
			res, err := DownloadRange(t.Context(), c, "/f", r.off, r.n, f, Options{})
			if err != nil || res.Bytes != r.n {
				t.Fatalf("range %d+%d: %d bytes, %v", r.off, r.n, res.Bytes, err)
			}
			if c.Err() != nil {
				t.Fatalf("control connection after the range: %v", c.Err())
			}
			// The server did not send the whole rest of the file.
			if s := sent() - before; s >= int64(len(payload))-r.off && r.off+r.n < int64(len(payload)) {
				t.Fatalf("server sent %d bytes for a range of %d", s, r.n)
			}
		}
		overlap := payload[(3<<20)-4096 : 3<<20]
		f.Seek(3<<20, 0)
		res, err := DownloadRange(t.Context(), c, "/f", (3<<20)-4096, 4096+(2<<20), f, Options{Overlap: overlap})
		if err != nil || res.Bytes != 4096+(2<<20) {
			t.Fatalf("overlapped range: %d bytes, %v", res.Bytes, err)
		}
		if _, err := c.Pwd(t.Context()); err != nil {
			t.Fatalf("PWD after the ranges: %v", err)
		}
		got, _ := os.ReadFile(f.Name())
		if len(got) != 6<<20 || !bytes.Equal(got[1<<20:], payload[1<<20:6<<20]) {
			t.Fatalf("file holds %d bytes, ranges do not match", len(got))
		}
		// A range past the file's end is short, not complete.
		f.Seek(0, 0)
		_, err = DownloadRange(t.Context(), c, "/f", int64(len(payload))-10, 20, f, Options{})
		if !errors.Is(err, ErrShort) {
			t.Fatalf("range past the end: %v, want ErrShort", err)
		}
	}
	t.Run("testserver", func(t *testing.T) {
		srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 64 << 20}})
		srv.WriteFile("/f", payload)
		c := dialTCP(t, srv.Addr(), 5*time.Second)
		check(t, c, func() int64 { return srv.Stats().BytesSent })
	})
	for _, kind := range realserver.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			rs := realserver.Start(t, kind, realserver.Options{})
			if err := rs.WriteFile("/f", payload); err != nil {
				t.Fatal(err)
			}
			user, pass := rs.Login()
			c, err := control.Dial(t.Context(), rs.Addr, control.Config{User: user, Password: pass, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			check(t, c, func() int64 { return 0 })
		})
	}
}
