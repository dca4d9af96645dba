package keepftp

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

func retrs(log []string) []string {
	var out []string
	for _, l := range log {
		if p, ok := strings.CutPrefix(l, "RETR "); ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func localFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// A mirror with a Filter fetches only what it takes, and does not list a
// folder it leaves out.
func TestMirrorFilter(t *testing.T) {
	t.Parallel()
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, mlst := range []bool{true, false} {
		f := ftptest.StartFake(t)
		f.MLST = mlst
		f.WriteFile("/t/a.csv", ftptest.RandomBytes(100), mtime)
		f.WriteFile("/t/b.txt", ftptest.RandomBytes(100), mtime)
		f.WriteFile("/t/data/c.csv", ftptest.RandomBytes(100), mtime)
		f.WriteFile("/t/data/deep/d.csv", ftptest.RandomBytes(5000), mtime)
		f.WriteFile("/t/tmp/e.csv", ftptest.RandomBytes(100), mtime)
		f.WriteFile("/t/x.csv.tmp", ftptest.RandomBytes(100), old)
		filter, err := NewFilter(FilterOptions{
			Rules:   []FilterRule{{Exclude: true, Pattern: "tmp/"}, {Pattern: "*.csv"}},
			MaxSize: 1000,
		})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := testClient(t, 2)
		c.o.Filter = filter
		dir := t.TempDir()
		results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/t", dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if r.Err != nil {
				t.Errorf("%s: %v", r.URL, r.Err)
			}
		}
		want := []string{"/t/a.csv", "/t/data/c.csv"}
		if got := retrs(f.Log()); !slices.Equal(got, want) {
			t.Errorf("MLST=%v: server sent %q, want %q", mlst, got, want)
		}
		if got := localFiles(t, dir); !slices.Equal(got, []string{"a.csv", "data/c.csv"}) {
			t.Errorf("MLST=%v: local files %q", mlst, got)
		}
		for _, l := range f.Log() {
			if strings.HasSuffix(l, "/t/tmp") {
				t.Errorf("MLST=%v: the excluded folder was listed: %q", mlst, l)
			}
		}
	}
}

// A pattern's files go through the Filter; when it leaves out all of
// them, that is no error and nothing is fetched.
func TestGetAllPatternFilter(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.WriteFile("/d/keep1.csv", ftptest.RandomBytes(2000), mtime)
	f.WriteFile("/d/keep2.csv", ftptest.RandomBytes(3000), mtime)
	f.WriteFile("/d/small.csv", ftptest.RandomBytes(10), mtime)
	f.WriteFile("/d/skip.csv", ftptest.RandomBytes(2000), mtime)
	f.WriteFile("/d/other.txt", ftptest.RandomBytes(2000), mtime)
	filter, err := NewFilter(FilterOptions{Rules: []FilterRule{{Exclude: true, Pattern: "skip*"}}, MinSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := testClient(t, 1)
	c.o.Filter = filter
	dir := t.TempDir()
	results := c.GetAll(t.Context(), []Job{{URL: "ftp://" + f.Addr() + "/d/*.csv"}}, dir)
	if len(results) != 2 {
		t.Fatalf("%d results, want 2: %+v", len(results), results)
	}
	if got := retrs(f.Log()); !slices.Equal(got, []string{"/d/keep1.csv", "/d/keep2.csv"}) {
		t.Errorf("server sent %q", got)
	}
	f.ResetCounts()
	results = c.GetAll(t.Context(), []Job{{URL: "ftp://" + f.Addr() + "/d/skip*"}}, dir)
	if len(results) != 0 || f.Count("RETR") != 0 {
		t.Errorf("a pattern the filter empties: %+v, %d RETRs; want no result, no error", results, f.Count("RETR"))
	}
}
