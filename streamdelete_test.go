package keepftp

import (
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
)

// actionLines are a plan's actions as "kind rel (reason)", sorted.
func actionLines(acts []Action) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = fmt.Sprintf("%s %s (%s)", a.Kind, a.Rel, a.Reason)
	}
	slices.Sort(out)
	return out
}

// TestPlanMirrorFuncIsPlanMirror: the dry run streamed folder by folder
// (PlanMirrorFunc, what mirror --dry-run prints) decides every entry as
// the whole plan does, both ways, with Delete: transfers and skips,
// folders to make, an upload's cleanups, and the deletes and keeps of
// trees the source does not have (a link, a name the filters leave out,
// a temporary in a folder that goes); its Deletes counts the same. It
// changes nothing, and a folder's delete comes after what it held.
func TestPlanMirrorFuncIsPlanMirror(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	for rel, data := range map[string]string{
		"s/same.txt": "same", "s/new.txt": "new", "s/sub/b.bin": "bbbb", "s/sub/deep/c": "c", "s/fresh/d": "d", "s/skip.log": "l",
		"d/same.txt": "same", "d/gone/x": "x", "d/gone/deeper/y": "y", "d/gone/" + path.Base(resume.UploadPartName("/d/gone/w", 1, mtime)): "p",
		"d/held/z": "z", "d/held/n.log": "n", "d/sub/old": "o", "d/sub/" + path.Base(resume.UploadPartName("/d/sub/b.bin", 9, mtime)): "p",
	} {
		if err := srv.WriteFile("/"+rel, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	down := t.TempDir()
	writeLocal(t, down, map[string]string{
		"same.txt": "same", "sub/b.bin": "old!", "extra.txt": "x", "gone/x": "x", "gone/deeper/y": "y",
		"held/z": "z", "held/n.log": "n", "skip.log": "kept by the filter",
	})
	if err := os.Symlink("same.txt", filepath.Join(down, "lnk")); err != nil {
		t.Fatal(err)
	}
	up := t.TempDir()
	writeLocal(t, up, map[string]string{"same.txt": "same", "sub/b.bin": "bbbbb", "sub/deep/c": "c", "new/e": "e"})
	for _, tc := range []struct {
		d        Direction
		url, dir string
	}{{ToLocal, "/s", down}, {ToServer, "/d", up}} {
		t.Run(tc.d.String(), func(t *testing.T) {
			c, _ := deleteClient(t, mustFilter(t, FilterRule{Exclude: true, Pattern: "*.log"}))
			o := MirrorOptions{Delete: true}
			url := "ftp://" + srv.Addr() + tc.url
			whole, err := c.PlanMirror(t.Context(), tc.d, url, tc.dir, o)
			if err != nil {
				t.Fatal(err)
			}
			before := treeSnapshot(t, tc.dir)
			var got []Action
			streamed, err := c.PlanMirrorFunc(t.Context(), tc.d, url, tc.dir, o, func(a Action) { got = append(got, a) })
			if err != nil {
				t.Fatal(err)
			}
			if w, g := actionLines(whole.Actions), actionLines(got); !slices.Equal(w, g) {
				t.Errorf("streamed plan:\n  %s\nwant PlanMirror's:\n  %s", strings.Join(g, "\n  "), strings.Join(w, "\n  "))
			}
			if whole.Deletes() == 0 || streamed.Deletes() != whole.Deletes() || streamed.NoDeletes != "" || !streamed.SourceComplete || len(streamed.Actions) != 0 {
				t.Errorf("streamed plan: %d deletes (PlanMirror's %d), NoDeletes %q, complete %v, %d actions held",
					streamed.Deletes(), whole.Deletes(), streamed.NoDeletes, streamed.SourceComplete, len(streamed.Actions))
			}
			at := map[string]int{}
			for i, a := range got {
				if a.Kind == ActDelete || a.Kind == ActKeep {
					at[a.Rel] = i
				}
			}
			for rel, i := range at {
				if j, ok := at[path.Dir(rel)]; ok && j < i {
					t.Errorf("%s's %s came before %s's", path.Dir(rel), got[j].Kind, rel)
				}
			}
			if after := treeSnapshot(t, tc.dir); !maps.Equal(before, after) {
				t.Errorf("the dry run changed the local tree")
			}
		})
	}
}

// TestMirrorDeleteGoneTreeEnds: an upload mirror with Delete whose
// destination holds, where the source has nothing, a tree that lists
// without end (each folder two folders, each listing different) walks it
// within the bound on directories, keeps it (what it holds is not known),
// and ends.
func TestMirrorDeleteGoneTreeEnds(t *testing.T) {
	defer func(n int) { maxDirs = n }(maxDirs)
	maxDirs = 20
	f := selfTree(t, true)
	c, _ := testClient(t, 1)
	var got []Action
	p, err := c.PlanMirrorFunc(t.Context(), ToServer, "ftp://"+f.Addr()+"/t", t.TempDir(), MirrorOptions{Delete: true}, func(a Action) { got = append(got, a) })
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Count("MLSD"); n > maxDirs+2 {
		t.Errorf("%d MLSDs: the walk of what goes is not bounded by %d directories", n, maxDirs)
	}
	kept := map[string]string{}
	for _, a := range got {
		if a.Kind == ActKeep {
			kept[a.Rel] = a.Reason
		}
	}
	for _, rel := range []string{"a", "b"} {
		if kept[rel] == "" {
			t.Errorf("%s not kept: its tree was not walked to the end (actions %s)", rel, actionLines(got))
		}
	}
	if p.Deletes() == 0 {
		t.Errorf("nothing to delete: the files of the walked folders go")
	}
}

// TestMirrorDeleteNeedsItsList: a mirror with Delete that cannot make the
// temporary file its list of deletes is kept in fails at once, with a
// clear error, and changes nothing.
func TestMirrorDeleteNeedsItsList(t *testing.T) {
	srv := ftptest.StartServer(t, testserver.Options{})
	if err := srv.WriteFile("/s/a.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeLocal(t, dir, map[string]string{"extra.txt": "x"})
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	c, _ := deleteClient(t, nil)
	results, err := c.MirrorWith(t.Context(), ToLocal, "ftp://"+srv.Addr()+"/s", dir, MirrorOptions{Delete: true})
	if err == nil || !strings.Contains(err.Error(), "list of deletes") || len(results) != 0 {
		t.Fatalf("results %+v, err %v; want the error alone", results, err)
	}
	if snap := treeSnapshot(t, dir); len(snap) != 2 || snap["extra.txt"] == "" {
		t.Errorf("the local tree changed: %v", snap)
	}
}
