package keepftp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
)

// Mirrors against scripted servers over TCP whose listings are hostile or
// broken: everything that can be copied is, every problem is reported.

var mtime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

type events struct {
	mu sync.Mutex
	ev []Event
}

func (e *events) add(ev Event) { e.mu.Lock(); e.ev = append(e.ev, ev); e.mu.Unlock() }
func (e *events) kinds(k EventKind) (out []Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.ev {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

func testClient(t *testing.T, par int) (*Client, *events) {
	ev := &events{}
	c := NewClient(Options{Parallel: par, Events: ev.add, Timeout: 5 * time.Second,
		Retry: RetryPolicy{Retries: 2, MaxAttempts: 10, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}})
	t.Cleanup(func() { c.Close() })
	return c, ev
}

// listings answers MLSD (or LIST) of the given directories with raw text.
func listings(verb string, raw map[string]string) func(s *ftptest.FakeSession, v, arg string) bool {
	return func(s *ftptest.FakeSession, v, arg string) bool {
		if v == verb {
			if l, ok := raw[arg]; ok {
				s.SendData([]byte(l), "")
				return true
			}
		}
		return false
	}
}

func leftOutResults(rs []FileResult) []FileResult {
	var out []FileResult
	for _, r := range rs {
		if errors.Is(r.Err, ErrLeftOut) {
			out = append(out, r)
		}
	}
	return out
}

func checkLocal(t *testing.T, name string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(name)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s: %v, %d bytes; want the remote file's %d", name, err, len(got), len(want))
	}
}

// Names with CR, LF, NUL or other control bytes are left out with a
// warning and never sent back to the server; the rest is copied.
func TestMirrorLeavesOutHostileNames(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.MLST = true
	good := ftptest.RandomBytes(3000)
	f.WriteFile("/d/good", good, mtime)
	f.WriteFile("/d/victim", []byte("must survive"), mtime)
	facts := "type=file;size=10;modify=20240301120000;"
	f.Hook = listings("MLSD", map[string]string{"/d": "" +
		fmt.Sprintf("type=file;size=%d;modify=20240301120000; good\r\n", len(good)) +
		"type=file;size=12;modify=20240301120000; victim\r\n" +
		facts + " x\rDELE /d/victim\r\n" +
		facts + " nul\x00byte\r\n" +
		facts + " esc\x1b[2Jname\r\n" +
		facts + " ..\\up\r\n"})
	c, ev := testClient(t, 2)
	dir := t.TempDir()
	results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/d", dir)
	if err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	checkLocal(t, filepath.Join(dir, "good"), good)
	if n := f.Count("DELE"); n != 0 {
		t.Fatalf("%d DELE reached the server", n)
	}
	if lo := leftOutResults(results); len(lo) != 4 {
		t.Errorf("%d entries left out, want 4: %+v", len(lo), lo)
	}
	if w := ev.kinds("warning"); len(w) != 4 {
		t.Errorf("%d warnings, want 4", len(w))
	}
	for _, r := range results {
		if r.Err != nil && !errors.Is(r.Err, ErrUnsafeName) {
			t.Errorf("%s: %v", r.URL, r.Err)
		}
	}
}

// One subdirectory answering 550, one unparseable listing line, one
// directory loop: the rest of the tree is copied and each problem is
// reported.
func TestMirrorGoesOnPastProblems(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.MLST = true
	files := map[string][]byte{}
	for _, name := range []string{"/t/a", "/t/ok/b", "/t/half/c", "/t/loop/d", "/t/z"} {
		files[name] = ftptest.RandomBytes(1000 + len(name))
		f.WriteFile(name, files[name], mtime)
	}
	f.WriteFile("/t/denied/x", []byte("x"), mtime)
	f.WriteFile("/t/loop/loop/d", files["/t/loop/d"], mtime) // the loop's second level
	fileFacts := func(n int) string { return fmt.Sprintf("type=file;size=%d;modify=20240301120000;", n) }
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch {
		case verb == "MLSD" && arg == "/t/denied":
			s.Reply("550 permission denied")
			return true
		case verb == "MLSD" && arg == "/t/half":
			s.SendData([]byte(fileFacts(len(files["/t/half/c"]))+" c\r\nthis line is no MLSD entry\r\n"), "")
			return true
		case verb == "MLSD" && strings.HasPrefix(arg, "/t/loop"):
			// Every level lists the same directory again, with the same
			// unique fact.
			s.SendData([]byte(fileFacts(len(files["/t/loop/d"]))+" d\r\ntype=dir;unique=L00P;modify=20240301120000; loop\r\n"), "")
			return true
		}
		return false
	}
	c, ev := testClient(t, 4)
	dir := t.TempDir()
	results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/t", dir)
	if err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	for name, data := range files {
		checkLocal(t, filepath.Join(dir, strings.TrimPrefix(name, "/t/")), data)
	}
	for _, r := range results {
		if r.Err != nil && !errors.Is(r.Err, ErrLeftOut) {
			t.Errorf("%s: %v", r.URL, r.Err)
		}
	}
	lo := leftOutResults(results)
	var reasons []string
	for _, r := range lo {
		reasons = append(reasons, r.Err.Error())
	}
	all := strings.Join(reasons, "\n")
	for _, want := range []string{"550 permission denied", "this line is no MLSD entry", "directory loop"} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem reported with %q in:\n%s", want, all)
		}
	}
	if len(ev.kinds("warning")) != len(lo) {
		t.Errorf("%d warnings for %d problems", len(ev.kinds("warning")), len(lo))
	}
	if _, err := os.Stat(filepath.Join(dir, StagingDir)); !os.IsNotExist(err) {
		t.Errorf("the staging directory is left behind: %v", err)
	}
	t.Logf("problems:\n%s", all)
}

// Without unique facts a loop ends at the first directory whose listing
// is that of the one above it; one whose listing differs at each level
// (a directory named after the depth) ends at the depth bound. Either is
// reported, and the files above it are copied.
func TestMirrorLoopWithoutUniqueEndsAtDepthBound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		vary         bool
		want         string
		wantListings int
		wantLeftOut  int
	}{
		{"same listing", false, "same entries", 3, 1},
		{"listing differs", true, "deeper than", 2 * (maxDepth + 1), 2}, // again and level at each depth
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.WriteFile("/r/top", []byte("top"), mtime)
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == "LIST" && strings.Contains(arg, "/level") {
					s.SendData(nil, "") // empty
					return true
				}
				if verb == "LIST" && strings.HasPrefix(arg, "/r/again") {
					l := "drwxr-xr-x 1 ftp ftp 0 Mar  1  2024 again\r\n"
					if tc.vary {
						l += fmt.Sprintf("drwxr-xr-x 1 ftp ftp 0 Mar  1  2024 level%d\r\n", strings.Count(arg, "/"))
					}
					s.SendData([]byte(l), "")
					return true
				}
				if verb == "CWD" && strings.HasPrefix(arg, "/r/again") {
					s.Reply("250 ok") // folders the server can enter: a loop, not folders it cannot read
					return true
				}
				if verb == "LIST" && arg == "/r" {
					s.SendData([]byte("-rw-r--r-- 1 ftp ftp 3 Mar  1  2024 top\r\ndrwxr-xr-x 1 ftp ftp 0 Mar  1  2024 again\r\n"), "")
					return true
				}
				return false
			}
			c, _ := testClient(t, 1)
			dir := t.TempDir()
			results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/r", dir)
			if err != nil {
				t.Fatalf("Mirror: %v", err)
			}
			checkLocal(t, filepath.Join(dir, "top"), []byte("top"))
			lo := leftOutResults(results)
			if len(lo) != tc.wantLeftOut || !strings.Contains(lo[0].Err.Error(), tc.want) {
				t.Errorf("left out %+v, want %q reported %d times", lo, tc.want, tc.wantLeftOut)
			}
			if n := f.Count("LIST"); n > tc.wantListings {
				t.Errorf("%d listings, want at most %d", n, tc.wantListings)
			}
		})
	}
}

// Remote files named like keepftp's own partial and state files mirror as
// the files they are, at -P 1 and -P 8; a name listed twice is reported,
// not raced.
func TestMirrorPartialNamesAreOrdinaryFiles(t *testing.T) {
	t.Parallel()
	for _, par := range []int{1, 8} {
		t.Run(fmt.Sprint("P", par), func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST = true
			files := map[string][]byte{}
			for _, name := range []string{"data", "data.part", "data.part.keepftp", "data.part.keepftp.tmp", "x.keepftp", "dup"} {
				files[name] = ftptest.RandomBytes(20000 + len(name))
				f.WriteFile("/m/"+name, files[name], mtime)
				f.WriteFile("/m/sub/"+name, files[name], mtime)
			}
			dupLine := fmt.Sprintf("type=file;size=%d;modify=20240301120000; dup\r\n", len(files["dup"]))
			var mu sync.Mutex
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == "MLSD" && arg == "/m" {
					mu.Lock()
					defer mu.Unlock()
					l := []byte(strings.Repeat(dupLine, 2))
					for _, name := range []string{"data", "data.part", "data.part.keepftp", "data.part.keepftp.tmp", "x.keepftp"} {
						l = fmt.Appendf(l, "type=file;size=%d;modify=20240301120000; %s\r\n", len(files[name]), name)
					}
					l = fmt.Appendf(l, "type=dir;modify=20240301120000; sub\r\n")
					s.SendData(l, "")
					return true
				}
				return false
			}
			c, _ := testClient(t, par)
			dir := t.TempDir()
			results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/m", dir)
			if err != nil {
				t.Fatalf("Mirror: %v", err)
			}
			for name, data := range files {
				checkLocal(t, filepath.Join(dir, "sub", name), data)
				checkLocal(t, filepath.Join(dir, name), data)
			}
			lo := leftOutResults(results)
			if len(lo) != 1 || !strings.Contains(lo[0].Err.Error(), "listed more than once") {
				t.Errorf("left out %+v, want the duplicate reported", lo)
			}
			for _, r := range results {
				if r.Err != nil && !errors.Is(r.Err, ErrLeftOut) {
					t.Errorf("%s: %v", r.URL, r.Err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, StagingDir)); !os.IsNotExist(err) {
				t.Errorf("the staging directory is left behind: %v", err)
			}
		})
	}
}

// A mirror interrupted mid-file resumes from the staging directory, not
// from a file beside the copy.
func TestMirrorResumesFromStaging(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.MLST = true
	data := ftptest.RandomBytes(100000)
	f.WriteFile("/s/big", data, mtime)
	f.WriteFile("/s/big.part", []byte("an ordinary file"), mtime)
	dir := t.TempDir()
	st := newStaging(dir)
	st.prepare("big")
	part, state := st.files("big")
	os.WriteFile(part, data[:60000], 0o644)
	// The state as an interrupted run leaves it.
	rf := resume.Remote{Size: int64(len(data)), ModTime: mtime, Unique: fmt.Sprintf("%x", "/s/big")}
	var rest []string
	var mu sync.Mutex
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "REST" {
			mu.Lock()
			rest = append(rest, arg)
			mu.Unlock()
		}
		return false
	}
	writeTestState(t, state, "ftp://"+f.Addr()+"/s/big", rf)
	c, _ := testClient(t, 1)
	results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/s", dir)
	if err != nil {
		t.Fatalf("Mirror: %v %+v", err, results)
	}
	checkLocal(t, filepath.Join(dir, "big"), data)
	checkLocal(t, filepath.Join(dir, "big.part"), []byte("an ordinary file"))
	if len(rest) != 1 || rest[0] != fmt.Sprint(60000-4096) {
		t.Errorf("REST %v, want one at %d: the partial in the staging directory resumed", rest, 60000-4096)
	}
}

func writeTestState(t *testing.T, name, url string, r resume.Remote) {
	t.Helper()
	b := fmt.Appendf(nil, `{"version":1,"url":%q,"remote":{"size":%d,"modtime":%q,"unique":%q}}`, url, r.Size, r.ModTime.Format(time.RFC3339), r.Unique)
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A pattern download names files after the listing too: partial-named
// files are ordinary files, hostile names are left out with a warning.
func TestGetAllPatternKeepsPartialsApart(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.MLST = true
	files := map[string][]byte{}
	var listing []byte
	for _, name := range []string{"a.csv", "a.csv.part", "a.csv.part.keepftp"} {
		files[name] = ftptest.RandomBytes(10000 + len(name))
		f.WriteFile("/g/"+name, files[name], mtime)
		listing = fmt.Appendf(listing, "type=file;size=%d;modify=20240301120000; %s\r\n", len(files[name]), name)
	}
	listing = fmt.Appendf(listing, "type=file;size=5;modify=20240301120000; x\rDELE a.csv\r\n")
	f.Hook = listings("MLSD", map[string]string{"/g": string(listing)})
	c, ev := testClient(t, 3)
	dir := t.TempDir()
	results := c.GetAll(t.Context(), []Job{{URL: "ftp://" + f.Addr() + "/g/*.csv*"}}, dir)
	for name, data := range files {
		checkLocal(t, filepath.Join(dir, name), data)
	}
	lo := leftOutResults(results)
	if len(results) != 4 || len(lo) != 1 || !errors.Is(lo[0].Err, ErrUnsafeName) || strings.ContainsAny(lo[0].URL, "\r\n") {
		t.Errorf("results %+v: want 3 files and the hostile name left out, its URL escaped", results)
	}
	if len(ev.kinds("warning")) != 1 || f.Count("DELE") != 0 {
		t.Errorf("%d warnings, %d DELE", len(ev.kinds("warning")), f.Count("DELE"))
	}
	if _, err := os.Stat(filepath.Join(dir, StagingDir)); !os.IsNotExist(err) {
		t.Errorf("the staging directory is left behind: %v", err)
	}
}

// sixteenFiles is a Fake with 8 files in /w and 8 in /w/d: 17 entries.
func sixteenFiles(t *testing.T) *ftptest.Fake {
	f := ftptest.StartFake(t)
	for i := range 8 {
		f.WriteFile(fmt.Sprintf("/w/f%d", i), []byte("x"), mtime)
		f.WriteFile(fmt.Sprintf("/w/d/g%d", i), []byte("y"), mtime)
	}
	return f
}

// A tree larger than the walk's bound: what fits is copied, the rest is
// reported once, and memory stays bounded.
func TestMirrorBoundsTheWalk(t *testing.T) { // not parallel: it sets maxStreamEntries
	defer func(n int) { maxStreamEntries = n }(maxStreamEntries)
	maxStreamEntries = 10
	f := sixteenFiles(t)
	c, _ := testClient(t, 2)
	results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/w", t.TempDir())
	if err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	lo := leftOutResults(results)
	done := 0
	for _, r := range results {
		if r.Err == nil {
			done++
		}
	}
	if len(lo) != 1 || !strings.Contains(lo[0].Err.Error(), "more than 10 entries") || done != 9 {
		t.Errorf("%d copied, left out %+v: want 9 files (10 entries with the directory) and one report", done, lo)
	}
}

// A whole plan, held in memory, is bounded at maxEntries; a mirror, which
// holds no entry per file, is not held to that bound (not parallel: it
// sets maxEntries).
func TestPlanBoundIsNotTheMirrors(t *testing.T) {
	defer func(n int) { maxEntries = n }(maxEntries)
	maxEntries = 10
	f := sixteenFiles(t)
	c, _ := testClient(t, 2)
	p, err := c.PlanMirror(t.Context(), ToLocal, "ftp://"+f.Addr()+"/w", t.TempDir(), MirrorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) != 1 || !strings.Contains(p.Problems[0].Err.Error(), "more than 10 entries") {
		t.Errorf("PlanMirror's problems %+v: want the bound, once", p.Problems)
	}
	results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/w", t.TempDir())
	if err != nil || len(results) != 16 || len(leftOutResults(results)) != 0 {
		t.Errorf("Mirror: %d results, left out %+v, err %v: want all 16 files", len(results), leftOutResults(results), err)
	}
}

// A batch of plain URLs whose names are each other's partial names, at
// -P 1 and -P 8: every file right, and a destination given twice is
// reported, not raced.
func TestGetAllBatchKeepsPartialsApart(t *testing.T) {
	t.Parallel()
	for _, par := range []int{1, 8} {
		t.Run(fmt.Sprint("P", par), func(t *testing.T) {
			f := ftptest.StartFake(t)
			files := map[string][]byte{}
			var jobs []Job
			for _, name := range []string{"data", "data.part", "data.part.keepftp", "data.part.keepftp.tmp"} {
				files[name] = ftptest.RandomBytes(200000 + len(name))
				f.WriteFile("/b/"+name, files[name], mtime)
				jobs = append(jobs, Job{URL: "ftp://" + f.Addr() + "/b/" + name})
			}
			jobs = append(jobs, Job{URL: "ftp://" + f.Addr() + "/b/data"})
			c, _ := testClient(t, par)
			dir := t.TempDir()
			results := c.GetAll(t.Context(), jobs, dir)
			for name, data := range files {
				checkLocal(t, filepath.Join(dir, name), data)
			}
			lo := leftOutResults(results)
			if len(results) != 5 || len(lo) != 1 || !strings.Contains(lo[0].Err.Error(), "destination of an earlier file") {
				t.Errorf("results %+v: want the second data reported", results)
			}
			if _, err := os.Stat(filepath.Join(dir, StagingDir)); !os.IsNotExist(err) {
				t.Errorf("the staging directory is left behind: %v", err)
			}
		})
	}
}
