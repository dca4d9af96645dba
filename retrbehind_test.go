package keepftp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// A LIST mirror of small files at -P 1, in virtual time over a 100 ms
// round trip where a connection costs nothing (the bench's middlebox,
// ftptest.Net.FreeConnect), from a server that holds a download's final
// reply until the data connection is closed and whose profile says so.
// The check after each transfer, the next file's look, its EPSV and its
// RETR are written together at the data's end: the server answers them
// with the 226 and waits on the new port, and the next file's data comes
// as soon as the client connects there. A file costs one write of
// commands and one and a half round trips; it was two writes and two
// round trips (RETR written after the 229 came). The files arrive whole,
// each fetched once.
func TestMirrorRetrBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 100 * time.Millisecond
		const n = 10
		vnet := ftptest.NewNet(t, rtt)
		vnet.FreeConnect = true
		f, files := heldFinalServer(t, vnet, rtt, n)
		profiles := t.TempDir()
		mirror := func(dir string) (time.Duration, int) {
			c := NewClient(Options{ProfileDir: profiles, Parallel: 1, Timeout: 10 * time.Second, DialContext: vnet.Dial})
			defer c.Close()
			f.ResetCounts()
			return mirrorWhole(t, c, "ftp://"+f.Addr()+"/"+dir, files), f.RoundTrips()
		}
		mirror("one") // learns where the server answers
		one, oneTrips := mirror("one")
		many, manyTrips := mirror("m")
		per := float64(many-one) / float64(n-1) / float64(rtt)
		writes := float64(manyTrips-oneTrips) / float64(n-1)
		t.Logf("%.2f round trips and %.2f writes of commands a file (RETR %d, EPSV %d, SIZE %d)", per, writes, f.Count("RETR"), f.Count("EPSV"), f.Count("SIZE"))
		if per > 1.6 {
			t.Errorf("%.2f round trips a file, want 1.5 (at most 1.6)", per)
		}
		if writes > 1 {
			t.Errorf("%.2f writes of commands a file, want 1", writes)
		}
		if got := f.Count("RETR"); got != n {
			t.Errorf("%d RETRs, want %d: each file once", got, n)
		}
		if got := f.Count("ABOR"); got != 0 {
			t.Errorf("%d ABORs: a RETR written behind was not taken over", got)
		}
	})
}

// learnedProfiles is a profile folder in which a mirror of f's /one
// (heldFinalServer) has learned that f answers commands written at a
// download's data end after its final reply.
func learnedProfiles(t *testing.T, vnet *ftptest.Net, f *ftptest.Fake) string {
	t.Helper()
	profiles := t.TempDir()
	learn := NewClient(Options{ProfileDir: profiles, Parallel: 1, Timeout: 10 * time.Second, DialContext: vnet.Dial})
	defer learn.Close()
	if _, err := learn.Mirror(t.Context(), "ftp://"+f.Addr()+"/one", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return profiles
}

// What can go wrong between a RETR written behind and its turn, in one
// mirror at -P 1 over the one connection: the first file changes during
// its transfer (its check fails, it is fetched again, and the RETR
// written for the second file is ended first), and the third file is
// removed while the second is fetched (its RETR is refused with 550).
// Every other file arrives whole, the gone one is reported not found,
// and the connection is never dropped: every owed reply was read.
func TestMirrorRetrBehindFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 100 * time.Millisecond
		vnet := ftptest.NewNet(t, rtt)
		vnet.FreeConnect = true
		f, files := heldFinalServer(t, vnet, rtt, 5)
		profiles := learnedProfiles(t, vnet, f)
		replaced := ftptest.RandomBytes(16 << 10)
		var retrs atomic.Int32
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb != "RETR" {
				return false
			}
			switch n := retrs.Add(1); {
			case n == 1 && arg == "/m/f00":
				f.WriteFile("/m/f00", replaced, mtime.Add(time.Hour))
			case arg == "/m/f01":
				f.Remove("/m/f02")
			}
			return false
		}
		f.ResetCounts()
		c := NewClient(Options{ProfileDir: profiles, Parallel: 1, Timeout: 10 * time.Second, DialContext: vnet.Dial,
			Retry: RetryPolicy{Retries: 3, BaseDelay: time.Second, MaxDelay: time.Second}})
		dst := t.TempDir()
		results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/m", dst)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		files["f00"] = replaced
		for _, r := range results {
			name := filepath.Base(r.Local)
			if name == "f02" {
				if !errors.Is(r.Err, ErrNotFound) {
					t.Errorf("f02: %v, want not found", r.Err)
				}
				continue
			}
			if r.Err != nil {
				t.Fatalf("%s: %v", name, r.Err)
			}
			if got, _ := os.ReadFile(r.Local); !bytes.Equal(got, files[name]) {
				t.Errorf("%s differs from the server's", name)
			}
		}
		t.Logf("USER %d, RETR %d, ABOR %d", f.Count("USER"), f.Count("RETR"), f.Count("ABOR"))
		if f.Count("USER") != 1 {
			t.Errorf("%d logins: a connection was dropped", f.Count("USER"))
		}
		if f.Count("ABOR") != 1 {
			t.Errorf("%d ABORs, want 1: the RETR of f01 written behind the first f00 is ended", f.Count("ABOR"))
		}
	})
}

// A mirror cancelled while a RETR written behind is owed ends promptly
// and leaves nothing running (synctest fails a bubble with goroutines
// blocked at its end).
func TestMirrorRetrBehindCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 100 * time.Millisecond
		vnet := ftptest.NewNet(t, rtt)
		vnet.FreeConnect = true
		f, _ := heldFinalServer(t, vnet, rtt, 4)
		profiles := learnedProfiles(t, vnet, f)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "SIZE" && arg == "/m/f02" {
				// The look at f02 comes with f01's check and f02's RETR: the
				// user interrupts then.
				time.AfterFunc(rtt/4, cancel)
			}
			return false
		}
		c := NewClient(Options{ProfileDir: profiles, Parallel: 1, Timeout: 10 * time.Second, DialContext: vnet.Dial})
		start := time.Now()
		_, err := c.Mirror(ctx, "ftp://"+f.Addr()+"/m", t.TempDir())
		c.Close()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Mirror: %v, want cancelled", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v to end", took)
		}
	})
}
