package keepftp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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
		f := ftptest.StartFakeOn(t, vnet)
		f.FinalDelay = rtt
		files := map[string][]byte{}
		for i := range n {
			name := fmt.Sprintf("f%02d", i)
			files[name] = ftptest.RandomBytes(16 << 10)
			f.WriteFile("/m/"+name, files[name], mtime)
		}
		f.WriteFile("/one/f00", files["f00"], mtime)
		profiles := t.TempDir()
		mirror := func(dir string) (time.Duration, int) {
			c := NewClient(Options{ProfileDir: profiles, Parallel: 1, Timeout: 10 * time.Second, DialContext: vnet.Dial})
			dst := t.TempDir()
			f.ResetCounts()
			start := time.Now()
			results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/"+dir, dst)
			took := time.Since(start)
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.Err != nil {
					t.Fatalf("%s: %v", r.URL, r.Err)
				}
				if got, _ := os.ReadFile(r.Local); !bytes.Equal(got, files[filepath.Base(r.Local)]) {
					t.Fatalf("%s differs from the server's", r.Local)
				}
			}
			return took, f.RoundTrips()
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
	})
}
