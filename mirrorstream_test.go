package keepftp

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
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

// TestMirrorChecksumFolderByFolder: a download mirror with Checksum asks
// the hashes folder by folder: in each of two folders, a file of the same
// size and time but other bytes is fetched again, by hash, and the same
// one is up to date; where the server has no hash, one warning says so
// for the whole run (not one a folder) and size and time decide.
func TestMirrorChecksumFolderByFolder(t *testing.T) {
	t.Parallel()
	for _, hash := range []bool{true, false} {
		t.Run(fmt.Sprint("hash=", hash), func(t *testing.T) {
			t.Parallel()
			f := ftptest.StartFake(t)
			f.MLST, f.Hash = true, hash
			dir := t.TempDir()
			for _, d := range []string{"a", "b"} {
				f.WriteFile("/t/"+d+"/same", []byte("same bytes"), mtime)
				f.WriteFile("/t/"+d+"/other", []byte("remote on"), mtime)
				for name, data := range map[string]string{"same": "same bytes", "other": "local one"} {
					local := filepath.Join(dir, d, name)
					if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(local, []byte(data), 0o644); err != nil {
						t.Fatal(err)
					}
					if err := os.Chtimes(local, mtime, mtime); err != nil {
						t.Fatal(err)
					}
				}
			}
			c, ev := testClient(t, 2)
			results, err := c.MirrorWith(t.Context(), ToLocal, "ftp://"+f.Addr()+"/t", dir, MirrorOptions{Checksum: true})
			checkNoErrors(t, results, err)
			got := map[string]string{}
			for _, r := range results {
				rel, _ := filepath.Rel(dir, r.Local)
				got[filepath.ToSlash(rel)] = r.Reason
			}
			for _, d := range []string{"a", "b"} {
				same, other := got[d+"/same"], got[d+"/other"]
				if hash && (same != "up to date: same size and SHA-256" || other != "SHA-256 differs") ||
					!hash && (same != "up to date: same size and time (to the second)" || other != same) {
					t.Errorf("%s: reasons %q", d, got)
				}
			}
			if want := map[bool]int{true: 2, false: 0}[hash]; f.Count("RETR") != want {
				t.Errorf("%d RETR, want %d", f.Count("RETR"), want)
			}
			if w := ev.kinds(EventWarning); !hash && (len(w) != 1 || !strings.Contains(w[0].Reason, "offers no HASH or XSHA256")) || hash && len(w) != 0 {
				t.Errorf("warnings %+v", w)
			}
		})
	}
}

// TestMirrorUpStreamsFolderByFolder: an upload mirror stores a folder's
// files before it lists the destination's next folders (a batch of one
// upload here), with -P 1 and -P 3; the stale temporary in d1 is removed,
// the one of d2/f0's upload resumed; a rerun finds all up to date.
// Planning the whole tree first, d1's file would not be on the server
// when d3 is listed.
func TestMirrorUpStreamsFolderByFolder(t *testing.T) { // not parallel: it sets streamBatch
	defer func(b int) { streamBatch = b }(streamBatch)
	streamBatch = 1
	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprint("P", par), func(t *testing.T) {
			files := map[string][]byte{}
			var names []string
			for d := 1; d <= 3; d++ {
				for k := range 2 {
					name := fmt.Sprintf("d%d/f%d", d, k)
					files[name] = []byte(name + " local bytes")
					names = append(names, name)
				}
			}
			dir := localTree(t, files)
			st, err := os.Stat(filepath.Join(dir, "d2", "f0"))
			if err != nil {
				t.Fatal(err)
			}
			f := ftptest.StartFake(t)
			f.MLST, f.SetTime = true, []string{"MFMT"}
			f.WriteFile("/t/d3/keep", []byte("keep"), mtime)
			stale := "/t/d1/" + path.Base(resume.UploadPartName("/t/d1/gone", 5, mtime))
			f.WriteFile(stale, []byte("stale"), mtime)
			part := "/t/d2/" + path.Base(resume.UploadPartName("/t/d2/f0", st.Size(), st.ModTime()))
			f.WriteFile(part, files["d2/f0"][:4], mtime)
			var before atomic.Bool // d1/f0 was on the server when d3 was listed
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == "MLSD" && arg == "/t/d3" {
					_, ok := f.File("/t/d1/f0")
					before.Store(ok)
				}
				return false
			}
			c, _ := testClient(t, par)
			for run := range 2 {
				results, err := c.MirrorUp(t.Context(), dir, "ftp://"+f.Addr()+"/t")
				if err != nil || len(results) != len(names) {
					t.Fatalf("run %d: %v, %+v", run, err, results)
				}
				for k, r := range results {
					if r.Err != nil || r.Local != filepath.Join(dir, filepath.FromSlash(names[k])) || r.Skipped != (run == 1) {
						t.Fatalf("run %d: result %d %+v: want %s", run, k, r, names[k])
					}
					if run == 0 && names[k] == "d2/f0" && r.Reason != "partial to resume" {
						t.Errorf("d2/f0: %q, want its temporary resumed", r.Reason)
					}
				}
				if run == 0 && !before.Load() {
					t.Fatal("d1's files were not stored before d3 was listed: the whole tree was walked first")
				}
			}
			for _, name := range names {
				if ff, ok := f.File("/t/" + name); !ok || string(ff.Data) != string(files[name]) {
					t.Errorf("%s on the server: %q", name, ff.Data)
				}
			}
			for _, gone := range []string{stale, part} {
				if _, ok := f.File(gone); ok {
					t.Errorf("%s is still on the server", gone)
				}
			}
		})
	}
}
