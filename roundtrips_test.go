package keepftp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// The round trips a mirror spends per small file on a reused connection,
// counted at the server: commands written together count once. With MLSD
// the listing's facts stand in for SIZE and MDTM before the transfer, and
// one MLST checks the file after it (EPSV, RETR, MLST: 3). With LIST, whose
// times are only to the minute, SIZE and MDTM go together before and after
// (4). It was 8 and 6 round trips.
func TestMirrorRoundTripsPerFile(t *testing.T) {
	const n = 20
	for _, tc := range []struct {
		name       string
		mlst, hash bool
		max        int
	}{
		{"MLSD", true, false, 3},
		{"LIST", false, false, 3},
		{"MLSD and HASH", true, true, 4}, // OPTS HASH once per connection, then HASH per file
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST, f.Hash = tc.mlst, tc.hash
			f.WriteFile("/empty/.keep", nil, mtime) // a directory with one empty file
			mirrorTrips := func(url string) int {
				f.ResetCounts()
				c, _ := testClient(t, 1)
				if _, err := c.Mirror(t.Context(), url, t.TempDir(), 1); err != nil {
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

// A file replaced (same size, new time) after the listing that gave its
// facts: the check after the transfer sees it, and the file is fetched
// again from the server's new facts.
func TestMirrorCatchesFileChangedSinceListing(t *testing.T) {
	f := ftptest.StartFake(t)
	f.MLST = true
	old, replacement := ftptest.RandomBytes(30000), ftptest.RandomBytes(30000)
	f.WriteFile("/c/f", old, mtime)
	later := mtime.Add(time.Hour)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "RETR" && f.Count("RETR") == 1 {
			// The file is replaced while the first transfer starts: the
			// data is the new file's, the listing had the old one's facts.
			f.WriteFile("/c/f", replacement, later)
		}
		return false
	}
	c, ev := testClient(t, 1)
	dir := t.TempDir()
	results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/c", dir, 1)
	if err != nil || len(results) != 1 || results[0].Err != nil {
		t.Fatalf("Mirror: %v %+v", err, results)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "f"))
	if !bytes.Equal(got, replacement) {
		t.Fatalf("the local file is not the new remote file")
	}
	if st, _ := os.Stat(filepath.Join(dir, "f")); !st.ModTime().Equal(later) {
		t.Errorf("mtime %v, want the new file's %v", st.ModTime(), later)
	}
	if n := f.Count("RETR"); n != 2 {
		t.Errorf("%d RETRs, want 2: the change caught after the first", n)
	}
	if len(ev.kinds("restart")) != 1 && len(ev.kinds("retry")) == 0 {
		t.Errorf("no retry or restart event said the file changed")
	}
}
