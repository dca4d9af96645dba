package keepftp

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestMirrorStreamsFolderByFolder: a download mirror copies a folder's
// files before it lists the folders after it (here with a batch of one
// transfer), with -P 1 (the walk and the one worker share the pool's one
// connection: no deadlock) and -P 3, over MLSD and LIST (MDTM per
// folder); a rerun finds all up to date, and the results come in the
// walk's order. Planning the whole tree first, d1's file would not be
// there when d3 is listed.
func TestMirrorStreamsFolderByFolder(t *testing.T) { // not parallel: it sets streamBatch
	defer func(b int) { streamBatch = b }(streamBatch)
	streamBatch = 1
	for _, tc := range []struct {
		par  int
		mlsd bool
	}{{1, true}, {3, true}, {1, false}, {3, false}} {
		t.Run(fmt.Sprintf("P%d-mlsd=%v", tc.par, tc.mlsd), func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST = tc.mlsd
			var names []string
			for d := 1; d <= 3; d++ {
				for k := range 2 {
					name := fmt.Sprintf("d%d/f%d", d, k)
					f.WriteFile("/t/"+name, []byte(name), mtime)
					names = append(names, name)
				}
			}
			dir := t.TempDir()
			var before atomic.Bool // d1/f0 was there when d3 was listed
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if (verb == "MLSD" || verb == "LIST") && filepath.Base(arg) == "d3" {
					_, err := os.Stat(filepath.Join(dir, "d1", "f0"))
					before.Store(err == nil)
				}
				return false
			}
			c, _ := testClient(t, tc.par)
			for run, want := range []string{"copied", "up to date"} {
				results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/t", dir)
				if err != nil || len(results) != len(names) {
					t.Fatalf("run %d: %v, %+v", run, err, results)
				}
				for k, r := range results {
					if r.Err != nil || r.Local != filepath.Join(dir, filepath.FromSlash(names[k])) || r.Skipped != (run == 1) {
						t.Fatalf("run %d: result %d %+v: want %s %s", run, k, r, names[k], want)
					}
				}
				if run == 0 && !before.Load() {
					t.Fatal("d1's files were not copied before d3 was listed: the whole tree was walked first")
				}
			}
			for _, name := range names {
				if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); err != nil || string(b) != name {
					t.Fatalf("%s: %q %v", name, b, err)
				}
			}
		})
	}
}
