package keepftp

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
	"github.com/spf13/afero"
)

// localTree writes files (rel -> data) under a new folder, each with a
// time of its own to the nanosecond, and returns the folder.
func localTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	i := 0
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tm := mtime.Add(time.Duration(i)*time.Hour + 123456789)
		if err := os.Chtimes(p, tm, tm); err != nil {
			t.Fatal(err)
		}
		i++
	}
	return dir
}

func reasons(ev *events, k EventKind) []string {
	var out []string
	for _, e := range ev.kinds(k) {
		out = append(out, e.Reason)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// noErrors is checkNoErrors for a call's two results.
func noErrors(t *testing.T) func([]FileResult, error) {
	return func(results []FileResult, err error) { t.Helper(); checkNoErrors(t, results, err) }
}

func checkNoErrors(t *testing.T, results []FileResult, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("mirror: %v", err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.URL, r.Err)
		}
	}
}

// An upload mirror copies the tree (folders made, an empty one too), each
// file verified and with the local file's time; a rerun skips every file
// by size and time to the second (MLSD) and stores nothing.
func TestMirrorUpCopiesAndRerunSkips(t *testing.T) {
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true})
	files := map[string][]byte{"a": ftptest.RandomBytes(3000), "sub/b": ftptest.RandomBytes(5000), "sub/deeper/c": ftptest.RandomBytes(7000), "data.part": ftptest.RandomBytes(10)}
	dir := localTree(t, files)
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	url := "ftp://" + srv.Addr() + "/up/tree"
	c, ev := testClient(t, 3)
	results, err := c.MirrorUp(t.Context(), dir, url)
	checkNoErrors(t, results, err)
	for rel, data := range files {
		got, err := afero.ReadFile(srv.Fs(), "/up/tree/"+rel)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s on the server: %v, %d bytes", rel, err, len(got))
		}
		st, _ := srv.Fs().Stat("/up/tree/" + rel)
		lst, _ := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		if st == nil || !st.ModTime().Equal(lst.ModTime().Truncate(time.Second)) {
			t.Errorf("%s: the server's time is not the local file's", rel)
		}
	}
	if st, err := srv.Fs().Stat("/up/tree/empty"); err != nil || !st.IsDir() {
		t.Errorf("the empty folder was not made: %v", err)
	}
	for _, e := range ev.kinds(EventDone) {
		if e.TimeSet != "MFMT" || e.Reason != "SHA-256" {
			t.Errorf("%s: done with time set by %q, verified by %q", e.URL, e.TimeSet, e.Reason)
		}
	}
	before := srv.Stats().Uploads
	c2, ev2 := testClient(t, 3)
	results, err = c2.MirrorUp(t.Context(), dir, url)
	checkNoErrors(t, results, err)
	if n := srv.Stats().Uploads - before; n != 0 {
		t.Errorf("the rerun stored %d files", n)
	}
	if got := reasons(ev2, EventSkip); len(got) != 1 || got[0] != "up to date: same size and time (to the second)" || len(ev2.kinds(EventSkip)) != len(files) {
		t.Errorf("rerun skips: %d, %q", len(ev2.kinds(EventSkip)), got)
	}
}

// On a server that lists with LIST only (times to the day here) and takes
// a time with "MDTM time path" (vsftpd's way): the rerun asks MDTM of the
// files whose sizes match, written together, and skips them all by time
// to the second. A file changed locally (same size, newer) is sent again.
func TestMirrorUpListServerRerun(t *testing.T) {
	f := ftptest.StartFake(t)
	f.SetTime = []string{"MDTM"}
	files := map[string][]byte{"a": ftptest.RandomBytes(100), "b": ftptest.RandomBytes(200), "d/c": ftptest.RandomBytes(300)}
	dir := localTree(t, files)
	url := "ftp://" + f.Addr() + "/dst"
	c, ev := testClient(t, 2)
	noErrors(t)(c.MirrorUp(t.Context(), dir, url))
	for _, e := range ev.kinds(EventDone) {
		if e.TimeSet != "MDTM" {
			t.Errorf("%s: time set by %q, want MDTM", e.URL, e.TimeSet)
		}
	}
	f.ResetCounts()
	c2, ev2 := testClient(t, 2)
	noErrors(t)(c2.MirrorUp(t.Context(), dir, url))
	if f.Count("STOR") != 0 || len(ev2.kinds(EventSkip)) != 3 {
		t.Fatalf("rerun: %d STOR, %d skips", f.Count("STOR"), len(ev2.kinds(EventSkip)))
	}
	if got := reasons(ev2, EventSkip); len(got) != 1 || got[0] != "up to date: same size and time (to the second)" {
		t.Errorf("skip reasons %q", got)
	}
	newer := time.Now().Add(-time.Minute)
	os.WriteFile(filepath.Join(dir, "b"), ftptest.RandomBytes(200), 0o644)
	os.Chtimes(filepath.Join(dir, "b"), newer, newer)
	f.ResetCounts()
	c3, _ := testClient(t, 2)
	results, err := c3.MirrorUp(t.Context(), dir, url)
	checkNoErrors(t, results, err)
	if f.Count("STOR") != 1 {
		t.Errorf("%d STOR after one file changed, want 1", f.Count("STOR"))
	}
	for _, r := range results {
		if strings.HasSuffix(r.URL, "/b") && (r.Skipped || r.Reason != "newer at the source") {
			t.Errorf("b: skipped %v, reason %q", r.Skipped, r.Reason)
		}
	}
}

// A server that takes no file time: the first upload finds that out,
// says it once (not once per file), and remembers it; then up to date is
// the same size and a server time not older than the local file's, and
// the rerun sends nothing again (lftp #173 sends all again).
func TestMirrorUpServerWithoutTimes(t *testing.T) {
	f := ftptest.StartFake(t)
	files := map[string][]byte{"a": ftptest.RandomBytes(100), "b": ftptest.RandomBytes(200), "c": ftptest.RandomBytes(300)}
	dir := localTree(t, files)
	url := "ftp://" + f.Addr() + "/dst"
	profiles := t.TempDir()
	client := func() (*Client, *events) {
		ev := &events{}
		c := NewClient(Options{Parallel: 2, Events: ev.add, ProfileDir: profiles, Timeout: 5 * time.Second, Retry: RetryPolicy{Retries: 2, MaxAttempts: 10, BaseDelay: time.Millisecond}})
		t.Cleanup(func() { c.Close() })
		return c, ev
	}
	c, ev := client()
	noErrors(t)(c.MirrorUp(t.Context(), dir, url))
	var said []string
	for _, e := range ev.kinds(EventWarning) {
		if strings.Contains(e.Reason, "takes no file time") {
			said = append(said, e.Reason)
		}
	}
	if len(said) != 1 {
		t.Errorf("said %d times that the server takes no time, want once", len(said))
	}
	f.ResetCounts()
	c2, ev2 := client() // a later run: the profile remembers
	noErrors(t)(c2.MirrorUp(t.Context(), dir, url))
	if f.Count("STOR") != 0 || f.Count("MFMT")+f.Count("SITE") != 0 {
		t.Errorf("rerun: %d STOR, %d tries to set a time", f.Count("STOR"), f.Count("MFMT")+f.Count("SITE"))
	}
	if got := reasons(ev2, EventSkip); len(got) != 1 || !strings.Contains(got[0], "not older than the local file's") {
		t.Errorf("skip reasons %q", got)
	}
}

// An upload mirror cut in three files at once and stopped (one attempt
// each): the rerun resumes each partial file from its temporary, and the
// server receives every byte once. The final names never held a partial
// file, and no temporary is left.
func TestMirrorUpRerunResumesEachPartialFile(t *testing.T) {
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{UploadCutAfter: []int64{100 << 10, 200 << 10, 300 << 10}}})
	files := map[string][]byte{"a": ftptest.RandomBytes(1 << 20), "b": ftptest.RandomBytes(1 << 20), "c": ftptest.RandomBytes(1 << 20)}
	dir := localTree(t, files)
	url := "ftp://" + srv.Addr() + "/m"
	once := NewClient(Options{Parallel: 3, Timeout: 5 * time.Second, Retry: RetryPolicy{Retries: 0, MaxAttempts: 1}})
	results, err := once.MirrorUp(t.Context(), dir, url)
	once.Close()
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
		}
	}
	if failed != 3 {
		t.Fatalf("%d files failed in the first run, want the 3 cut", failed)
	}
	for rel := range files {
		if _, err := srv.Fs().Stat("/m/" + rel); err == nil {
			t.Errorf("%s stands under its final name after a cut", rel)
		}
	}
	c, ev := testClient(t, 3)
	results, err = c.MirrorUp(t.Context(), dir, url)
	checkNoErrors(t, results, err)
	for _, r := range results {
		if r.Reason != "partial to resume" {
			t.Errorf("%s: planned for %q", r.URL, r.Reason)
		}
	}
	var offsets []int64
	for _, e := range ev.kinds(EventStart) {
		offsets = append(offsets, e.Offset)
	}
	slices.Sort(offsets)
	if !slices.Equal(offsets, []int64{100 << 10, 200 << 10, 300 << 10}) {
		t.Errorf("the rerun started at %v, want each file where its cut left it", offsets)
	}
	if n := srv.Stats().BytesReceived; n != 3<<20 {
		t.Errorf("the server received %d bytes in both runs, want each file once (%d)", n, 3<<20)
	}
	for rel, data := range files {
		if got, _ := afero.ReadFile(srv.Fs(), "/m/"+rel); !bytes.Equal(got, data) {
			t.Errorf("%s differs on the server", rel)
		}
	}
	if names, _ := afero.ReadDir(srv.Fs(), "/m"); len(names) != 3 {
		t.Errorf("%d names left on the server, want the 3 files", len(names))
	}
}

// Temporaries of keepftp's own found by name: the one of a file's older
// version, and the one of a file no longer in the source, are removed
// after the transfers (each a delete event); a user's file that only
// looks like one (no hex tag) is not touched, and a local file named like
// a temporary is left out, not uploaded.
func TestMirrorUpRemovesStaleTemporaries(t *testing.T) {
	f := ftptest.StartFake(t)
	f.MLST = true
	dir := localTree(t, map[string][]byte{"a": ftptest.RandomBytes(100), ".x.0123abcd.keepftp-part": []byte("mine")})
	f.WriteFile("/dst/.a.deadbeef.keepftp-part", []byte("older version"), mtime)
	f.WriteFile("/dst/.gone.12345678.keepftp-part", []byte("gone"), mtime)
	f.WriteFile("/dst/.user.keepftp-part", []byte("a user's"), mtime)
	c, ev := testClient(t, 1)
	results, err := c.MirrorUp(t.Context(), dir, "ftp://"+f.Addr()+"/dst")
	if err != nil {
		t.Fatal(err)
	}
	if lo := leftOutResults(results); len(lo) != 1 || !strings.Contains(lo[0].Err.Error(), "upload temporaries") {
		t.Errorf("left out: %+v", lo)
	}
	if got := f.Names(); !slices.Equal(got, []string{"/dst/.user.keepftp-part", "/dst/a"}) {
		t.Errorf("on the server: %q", got)
	}
	if d := ev.kinds(EventDelete); len(d) != 2 {
		t.Errorf("%d delete events, want 2", len(d))
	}
}

// The local walk never leaves the folder: a link to a file inside is
// uploaded as that file; links out of the folder, to a folder, or to
// nowhere are left out, and so are names with CR or LF.
func TestMirrorUpLocalWalkStaysInside(t *testing.T) {
	f := ftptest.StartFake(t)
	f.MLST = true
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("secret"), 0o644)
	dir := localTree(t, map[string][]byte{"in/file": []byte("inside"), "a\nDELE b": []byte("x")})
	os.Symlink(outside, filepath.Join(dir, "out"))
	os.Symlink("../../"+filepath.Base(filepath.Dir(outside)), filepath.Join(dir, "in", "up"))
	os.Symlink("in/file", filepath.Join(dir, "link"))
	os.Symlink("in", filepath.Join(dir, "dirlink"))
	os.Symlink("nowhere", filepath.Join(dir, "dangling"))
	c, _ := testClient(t, 1)
	results, err := c.MirrorUp(t.Context(), dir, "ftp://"+f.Addr()+"/dst")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !slices.Equal(got, []string{"/dst/in/file", "/dst/link"}) {
		t.Errorf("on the server: %q", got)
	}
	if ff, _ := f.File("/dst/link"); string(ff.Data) != "inside" {
		t.Errorf("the link's file: %q", ff.Data)
	}
	if lo := leftOutResults(results); len(lo) != 5 {
		t.Errorf("%d left out, want 5: %+v", len(lo), lo)
	}
	if f.Count("DELE") != 0 {
		t.Error("a DELE reached the server")
	}
}

// --checksum: files of the same size and time but other bytes are sent
// again, by hash; where the server has no hash, a warning says so once and
// size and time decide.
func TestMirrorUpChecksum(t *testing.T) {
	for _, hash := range []bool{true, false} {
		t.Run(fmt.Sprint("hash=", hash), func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST, f.Hash, f.SetTime = true, hash, []string{"MFMT"}
			dir := localTree(t, map[string][]byte{"same": []byte("same bytes"), "other": []byte("local one")})
			st, _ := os.Stat(filepath.Join(dir, "other"))
			f.WriteFile("/dst/other", []byte("remote on"), st.ModTime()) // same size and time, other bytes
			st, _ = os.Stat(filepath.Join(dir, "same"))
			f.WriteFile("/dst/same", []byte("same bytes"), st.ModTime())
			c, ev := testClient(t, 1)
			results, err := c.MirrorWith(t.Context(), ToServer, "ftp://"+f.Addr()+"/dst", dir, MirrorOptions{Checksum: true})
			checkNoErrors(t, results, err)
			got := map[string]string{}
			for _, r := range results {
				got[path.Base(r.URL)] = r.Reason
			}
			if hash {
				if got["same"] != "up to date: same size and SHA-256" || got["other"] != "SHA-256 differs" || f.Count("STOR") != 1 {
					t.Errorf("reasons %q, %d STOR", got, f.Count("STOR"))
				}
				return
			}
			if w := reasons(ev, EventWarning); len(w) != 1 || !strings.Contains(w[0], "offers no HASH or XSHA256") || len(ev.kinds(EventWarning)) != 1 {
				t.Errorf("warnings %q", w)
			}
			if got["other"] != "up to date: same size and time (to the second)" || f.Count("STOR") != 0 {
				t.Errorf("reasons %q, %d STOR", got, f.Count("STOR"))
			}
		})
	}
}

// While an upload runs, a second client (jlaffaye/ftp) on the server
// never sees the file under its final name half written: a new file is
// not there at all, a replaced one is the old one, whole. With --inplace
// (the check's own check) it does.
func TestMirrorUpReaderNeverSeesHalfAFile(t *testing.T) {
	for _, inplace := range []bool{false, true} {
		t.Run(fmt.Sprint("inplace=", inplace), func(t *testing.T) {
			t.Parallel()
			problems, checks := uploadWatched(t, inplace)
			switch {
			case checks < 4:
				t.Errorf("%d looks during the uploads, want several", checks)
			case !inplace && len(problems) > 0:
				t.Errorf("%d looks during the uploads: %q", checks, problems)
			case inplace && len(problems) == 0:
				t.Errorf("with --inplace, %d looks saw no partial file: the check cannot fail", checks)
			}
		})
	}
}

// uploadWatched mirrors two files up, one new, one replacing an older
// file, and looks at the final names from another client at every
// progress event; it returns what it saw wrong.
func uploadWatched(t *testing.T, inplace bool) (problems []string, checks int) {
	srv := ftptest.StartServer(t, testserver.Options{})
	old := ftptest.RandomBytes(300 << 10)
	srv.WriteFile("/r/replaced", old)
	files := map[string][]byte{"new": ftptest.RandomBytes(2 << 20), "replaced": ftptest.RandomBytes(2 << 20)}
	dir := localTree(t, files)
	reader, err := ftp.Dial(srv.Addr(), ftp.DialWithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Quit()
	if err := reader.Login("anonymous", "reader@"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	look := func(e Event) {
		if e.Kind != EventProgress || e.Bytes <= 0 || e.Bytes >= e.Size {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		checks++
		if strings.HasSuffix(e.URL, "/new") {
			if _, err := reader.FileSize("/r/new"); err == nil {
				problems = append(problems, "the new file stands under its name while it uploads")
			}
			return
		}
		r, err := reader.Retr("/r/replaced")
		if err != nil {
			problems = append(problems, "the replaced file is not there: "+err.Error())
			return
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, old) {
			problems = append(problems, fmt.Sprintf("the replaced file reads %d bytes, not the old file whole", len(got)))
		}
	}
	// 2 MiB/s: each file takes a second, dozens of looks even on a loaded
	// machine (at 8 MiB/s a loaded CI run made only 3).
	c := NewClient(Options{Parallel: 1, ProgressEvery: time.Nanosecond, Events: look, Timeout: 5 * time.Second, RateLimit: 2 << 20, Inplace: inplace})
	defer c.Close()
	noErrors(t)(c.MirrorUp(t.Context(), dir, "ftp://"+srv.Addr()+"/r"))
	for rel, data := range files {
		if got, _ := afero.ReadFile(srv.Fs(), "/r/"+rel); !bytes.Equal(got, data) {
			t.Errorf("%s differs", rel)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return problems, checks
}

// A download mirror says why it skips: same size and time, to the
// second (MLSD) or, for a LIST server, after asking MDTM.
func TestMirrorDownSkipReasons(t *testing.T) {
	for _, mlst := range []bool{true, false} {
		t.Run(fmt.Sprint("MLST=", mlst), func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST = mlst
			f.WriteFile("/s/a", ftptest.RandomBytes(100), mtime.Add(37*time.Second))
			f.WriteFile("/s/b", ftptest.RandomBytes(100), mtime.Add(38*time.Second))
			dir := t.TempDir()
			c, _ := testClient(t, 1)
			noErrors(t)(c.Mirror(t.Context(), "ftp://"+f.Addr()+"/s", dir))
			f.ResetCounts()
			c2, ev := testClient(t, 1)
			noErrors(t)(c2.Mirror(t.Context(), "ftp://"+f.Addr()+"/s", dir))
			if got := reasons(ev, EventSkip); len(got) != 1 || got[0] != "up to date: same size and time (to the second)" || f.Count("RETR") != 0 {
				t.Errorf("skips %q, %d RETR", got, f.Count("RETR"))
			}
			if !mlst && f.Count("MDTM") != 2 {
				t.Errorf("%d MDTM, want one per same-size file", f.Count("MDTM"))
			}
		})
	}
}
