package keepftp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// The round trips a mirror spends per small file on a reused connection,
// counted at the server: commands written together count once, and a
// transfer's final reply counts with its command. With MLSD the listing's
// facts stand in for SIZE and MDTM before the transfer, and one MLST
// checks the file after it (EPSV, RETR, MLST: 3). With LIST, whose times
// are only to the minute, the check after each transfer (SIZE, MDTM) also
// asks the next file's SIZE and MDTM and opens its data port (EPSV), all
// written together: that round trip and RETR (2). It was 8 and 6 round
// trips, then 3 and 4.
func TestMirrorRoundTripsPerFile(t *testing.T) {
	t.Parallel()
	const n = 20
	for _, tc := range []struct {
		name       string
		mlst, hash bool
		max        int
	}{
		{"MLSD", true, false, 3},
		{"LIST", false, false, 2},
		{"MLSD and HASH", true, true, 4}, // OPTS HASH once per connection, then HASH per file
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST, f.Hash = tc.mlst, tc.hash
			f.WriteFile("/empty/.keep", nil, mtime) // a directory with one empty file
			mirrorTrips := func(url string) int {
				f.ResetCounts()
				c, _ := testClient(t, 1)
				if _, err := c.Mirror(t.Context(), url, t.TempDir()); err != nil {
					t.Fatal(err)
				}
				c.Close()
				return f.RoundTrips()
			}
			base := mirrorTrips("ftp://" + f.Addr() + "/empty")
			baseCmds := f.Count("")
			for i := range n {
				f.WriteFile(fmt.Sprintf("/many/f%02d", i), ftptest.RandomBytes(16<<10), mtime)
			}
			f.WriteFile("/many/.keep", nil, mtime)
			trips := mirrorTrips("ftp://" + f.Addr() + "/many")
			per := float64(trips-base) / n
			perCmds := float64(f.Count("")-baseCmds) / n
			t.Logf("%s: %.1f round trips and %.1f commands per file (TYPE %d, FEAT %d, SIZE %d, MDTM %d, MLST %d, EPSV %d, RETR %d in all)",
				tc.name, per, perCmds, f.Count("TYPE"), f.Count("FEAT"), f.Count("SIZE"), f.Count("MDTM"), f.Count("MLST"), f.Count("EPSV"), f.Count("RETR"))
			if per > float64(tc.max) {
				t.Errorf("%.1f round trips per file, want at most %d", per, tc.max)
			}
			if f.Count("TYPE") != 1 || f.Count("FEAT") != 1 || f.Count("USER") != 1 {
				t.Errorf("TYPE %d, FEAT %d, USER %d: want each once, on the one reused connection", f.Count("TYPE"), f.Count("FEAT"), f.Count("USER"))
			}
			if tc.hash && (f.Count("OPTS") != 1 || f.Count("HASH") != n+1) {
				t.Errorf("OPTS %d, HASH %d: want OPTS HASH once and a HASH per file", f.Count("OPTS"), f.Count("HASH"))
			}
		})
	}
}

// A file replaced (same size, new time) after the facts its transfer
// started from were taken: the listing's (MLSD), or the look ahead made
// with the previous file's check (LIST). The check after the transfer sees
// it, and the file is fetched again from the server's new facts.
func TestMirrorCatchesFileChangedSinceListing(t *testing.T) {
	t.Parallel()
	for _, mlst := range []bool{true, false} {
		t.Run(fmt.Sprintf("MLST=%v", mlst), func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST = mlst
			first, old, replacement := ftptest.RandomBytes(20000), ftptest.RandomBytes(30000), ftptest.RandomBytes(30000)
			f.WriteFile("/c/a", first, mtime)
			f.WriteFile("/c/f", old, mtime)
			later := mtime.Add(time.Hour)
			var retrs atomic.Int32
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == "RETR" && arg == "/c/f" && retrs.Add(1) == 1 {
					// The file is replaced while the first transfer starts: the
					// data is the new file's, the facts are the old one's.
					f.WriteFile("/c/f", replacement, later)
				}
				return false
			}
			c, ev := testClient(t, 1)
			dir := t.TempDir()
			results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/c", dir)
			if err != nil || len(results) != 2 || results[0].Err != nil || results[1].Err != nil {
				t.Fatalf("Mirror: %v %+v", err, results)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "a")); !bytes.Equal(got, first) {
				t.Errorf("the local a is not the remote a")
			}
			got, _ := os.ReadFile(filepath.Join(dir, "f"))
			if !bytes.Equal(got, replacement) {
				t.Fatalf("the local file is not the new remote file")
			}
			if st, _ := os.Stat(filepath.Join(dir, "f")); !st.ModTime().Equal(later) {
				t.Errorf("mtime %v, want the new file's %v", st.ModTime(), later)
			}
			if n := retrs.Load(); n != 2 {
				t.Errorf("%d RETRs of f, want 2: the change caught after the first", n)
			}
			if len(ev.kinds("restart")) != 1 && len(ev.kinds("retry")) == 0 {
				t.Errorf("no retry or restart event said the file changed")
			}
		})
	}
}

// The look ahead takes no file away from an idle worker: a mirror of as
// many files as workers runs them all at once, with LIST (which looks
// ahead) and with MLSD (which does not). Each RETR waits, boundedly, for
// the others to arrive, so a worker holding two files shows as fewer at
// once.
func TestMirrorLookAheadKeepsWorkersBusy(t *testing.T) {
	t.Parallel()
	const par = 3
	for _, mlst := range []bool{false, true} {
		t.Run(fmt.Sprint("MLST=", mlst), func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST = mlst
			for i := range par {
				f.WriteFile(fmt.Sprintf("/w/f%d", i), ftptest.RandomBytes(1000+i), mtime)
			}
			var mu sync.Mutex
			arrived, waitedOut := 0, 0
			all := make(chan struct{})
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb != "RETR" {
					return false
				}
				mu.Lock()
				if arrived++; arrived == par {
					close(all)
				}
				mu.Unlock()
				select {
				case <-all:
				case <-time.After(5 * time.Second): // serialised: go on, and fail below
					mu.Lock()
					waitedOut++
					mu.Unlock()
				}
				return false
			}
			c, _ := testClient(t, par)
			if _, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/w", t.TempDir()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if arrived != par || waitedOut > 0 {
				t.Errorf("%d RETRs, %d of them waited in vain for all %d at once", arrived, waitedOut, par)
			}
		})
	}
}
