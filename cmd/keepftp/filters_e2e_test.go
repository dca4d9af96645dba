package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// serverVerbs returns the arguments of the server's log lines with this
// verb, sorted.
func serverVerbs(srv *testserver.Server, verb string) []string {
	var out []string
	for _, l := range srv.Commands() {
		if a, ok := strings.CutPrefix(l, verb+" "); ok {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// filesUnder lists the regular files under dir, relative, slash-separated,
// with their sha256, leaving keepftp's staging directory out.
func filesUnder(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.ToSlash(rel)] = sha256.Sum256(data)
		return nil
	})
	return out
}

// filterTree writes the tree the filter tests use to the server: names,
// sizes and times that each rule picks apart.
func filterTree(t *testing.T, srv *testserver.Server, top string) map[string][]byte {
	t.Helper()
	old := time.Now().Add(-30 * 24 * time.Hour)
	files := map[string][]byte{
		"a.csv":              ftptest.RandomBytes(100),
		"b.txt":              ftptest.RandomBytes(100),
		"keep.log":           ftptest.RandomBytes(100),
		"other.log":          ftptest.RandomBytes(100),
		"data/c.csv":         ftptest.RandomBytes(200),
		"data/big.csv":       ftptest.RandomBytes(5000),
		"data/deep/d.csv":    ftptest.RandomBytes(300),
		"data/deep/old.csv":  ftptest.RandomBytes(300),
		"tmp/e.csv":          ftptest.RandomBytes(100),
		"x/tmp/f.csv":        ftptest.RandomBytes(100),
		"x/notes/g.csv":      ftptest.RandomBytes(100),
		"x/notes/g.csv.part": ftptest.RandomBytes(100),
	}
	for rel, data := range files {
		if err := srv.WriteFile(top+"/"+rel, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Fs().Chtimes(top+"/data/deep/old.csv", old, old); err != nil {
		t.Fatal(err)
	}
	return files
}

// TestMirrorFilters: a mirror with --exclude, --include, --max-size and
// --newer-than fetches only the files they take (the server's log shows
// RETR of those alone), never lists a folder they leave out, and the
// copies are whole.
func TestMirrorFilters(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	files := filterTree(t, srv, "/t")
	dst := t.TempDir()
	code, _, stderr := runKeepftp(t, nil, "mirror", "--no-profile", "-P", "2",
		"--exclude", "tmp/", "--include", "*.csv", "--max-size", "1K", "--newer-than", "7d",
		"ftp://"+srv.Addr()+"/t", dst)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want := []string{"a.csv", "data/c.csv", "data/deep/d.csv", "x/notes/g.csv"}
	var wantRetr []string
	for _, rel := range want {
		wantRetr = append(wantRetr, "/t/"+rel)
	}
	if got := serverVerbs(srv, "RETR"); !slices.Equal(got, wantRetr) {
		t.Errorf("the server sent %q, want %q", got, wantRetr)
	}
	got := filesUnder(t, dst)
	if len(got) != len(want) {
		t.Errorf("local files %v, want %v", got, want)
	}
	for _, rel := range want {
		if got[rel] != sha256.Sum256(files[rel]) {
			t.Errorf("%s: missing or sha256 differs", rel)
		}
	}
	for _, l := range srv.Commands() {
		if strings.HasSuffix(l, "/tmp") {
			t.Errorf("a folder left out was listed: %q", l)
		}
	}
}

// TestFilterOrderIsTheCommandLines: --include and --exclude are tried in
// the order typed, across the two flags: the same two rules in the other
// order take another set of files.
func TestFilterOrderIsTheCommandLines(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	filterTree(t, srv, "/t")
	url := "ftp://" + srv.Addr() + "/t"
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--include", "keep.log", "--exclude", "*.log", "--include", "*.txt"}, []string{"b.txt", "keep.log"}},
		{[]string{"--exclude", "*.log", "--include", "keep.log", "--include", "*.txt"}, []string{"b.txt"}},
	} {
		dst := t.TempDir()
		args := append([]string{"mirror", "--no-profile", "-q"}, tc.args...)
		code, _, stderr := runKeepftp(t, nil, append(args, url, dst)...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d\n%s", tc.args, code, stderr)
		}
		var got []string
		for rel := range filesUnder(t, dst) {
			got = append(got, rel)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: took %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestGetPatternFilters: get of a pattern with --exclude and --min-size
// fetches only the matching files the filters take.
func TestGetPatternFilters(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	files := filterTree(t, srv, "/t")
	dst := t.TempDir()
	code, _, stderr := runKeepftp(t, nil, "get", "--no-profile", "-o", dst,
		"--exclude", "c.*", "--min-size", "250", "ftp://"+srv.Addr()+"/t/data/*.csv")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if got := serverVerbs(srv, "RETR"); !slices.Equal(got, []string{"/t/data/big.csv"}) {
		t.Errorf("the server sent %q, want /t/data/big.csv alone", got)
	}
	if got := filesUnder(t, dst); len(got) != 1 || got["big.csv"] != sha256.Sum256(files["data/big.csv"]) {
		t.Errorf("local files %v, want big.csv alone, whole", got)
	}
}

// TestPutRecursiveFilters: put -r with --exclude, --include and
// --older-than stores only the files they take (the server's log shows
// one STOR each, to its temporary, and the RNTO of those alone), under
// the directory's name.
func TestPutRecursiveFilters(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	src := filepath.Join(t.TempDir(), "up")
	recent, old := time.Now(), time.Now().Add(-48*time.Hour)
	for rel, mod := range map[string]time.Time{
		"a.txt": old, "new.txt": recent, "b.bin": old, "cache/c.txt": old, "sub/d.txt": old, "sub/cache/e.txt": old,
	} {
		p := filepath.Join(src, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, ftptest.RandomBytes(64), 0o644)
		os.Chtimes(p, mod, mod)
	}
	code, _, stderr := runKeepftp(t, nil, "put", "--no-profile", "-r",
		"--exclude", "cache/", "--include", "*.txt", "--older-than", "1d",
		src, "ftp://"+srv.Addr()+"/in/")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want := []string{"/in/up/a.txt", "/in/up/sub/d.txt"}
	if got, stored := serverVerbs(srv, "RNTO"), serverVerbs(srv, "STOR"); !slices.Equal(got, want) || len(stored) != len(want) {
		t.Errorf("the server stored %q and renamed to %q, want %q", stored, got, want)
	}
}

// TestFilterFlagsRefused: bad filter values, and filters where nothing is
// listed to choose from, exit 2 before anything connects.
func TestFilterFlagsRefused(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	url := "ftp://" + srv.Addr() + "/d"
	local := filepath.Join(t.TempDir(), "f")
	os.WriteFile(local, []byte("x"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"mirror", "--exclude", "[a", url, t.TempDir()}, `--exclude [a: pattern "[a"`},
		{[]string{"mirror", "--include", `x\`, url, t.TempDir()}, "ends in"},
		{[]string{"mirror", "--newer-than", "yesterday", url, t.TempDir()}, "neither a date"},
		{[]string{"mirror", "--older-than", "99999w", url, t.TempDir()}, "more than 100 years"},
		{[]string{"mirror", "--min-size", "0", url, t.TempDir()}, "--min-size 0: bad size"},
		{[]string{"mirror", "--max-size", "lots", url, t.TempDir()}, "--max-size lots: bad size"},
		{[]string{"mirror", "--min-size", "2K", "--max-size", "1K", url, t.TempDir()}, "above the greatest"},
		{[]string{"mirror", "--newer-than", "1d", "--older-than", "2d", url, t.TempDir()}, "nothing could be taken"},
		{[]string{"get", "--exclude", "x", url + "/f"}, "choose among the files of a pattern"},
		{[]string{"put", "--include", "x", local, url + "/"}, "give -r and a directory"},
		{[]string{"get", "--remove-source-files", "-o", "-", url + "/f"}, "--remove-source-files and -o -"},
	} {
		code, _, stderr := runKeepftp(t, nil, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("keepftp %s: exit %d, %q; want exit 2 saying %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
	if n := srv.Stats().Connections; n != 0 {
		t.Errorf("%d connections: a refused command line reached the server", n)
	}
}
