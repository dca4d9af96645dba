package keepftp

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
	"github.com/spf13/afero"
)

// Mirrors with MirrorOptions.Delete: what goes, what stays, and that
// nothing goes when the source's listing, or the run, was not complete.

// deleteClient is testClient with a Filter (nil: none).
func deleteClient(t *testing.T, filter *Filter) (*Client, *events) {
	c, ev := testClient(t, 2)
	c.o.Filter = filter
	return c, ev
}

func mustFilter(t *testing.T, rules ...FilterRule) *Filter {
	t.Helper()
	f, err := NewFilter(FilterOptions{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// writeLocal writes files (rel -> data) below dir.
func writeLocal(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// treeSnapshot is every entry below dir, links not followed: folders,
// files with their size, time and sha256, links with where they lead.
func treeSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			to, _ := os.Readlink(p)
			snap[rel] = "link to " + to
		case st.IsDir():
			snap[rel] = fmt.Sprintf("folder %v", st.Mode())
		default:
			data, _ := os.ReadFile(p)
			snap[rel] = fmt.Sprintf("file %v %d %v %x", st.Mode(), st.Size(), st.ModTime().UnixNano(), sha256.Sum256(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// diffSnapshots lists the entries that differ between two snapshots.
func diffSnapshots(before, after map[string]string) []string {
	var out []string
	for rel, b := range before {
		if a, ok := after[rel]; !ok {
			out = append(out, "gone: "+rel)
		} else if a != b {
			out = append(out, "changed: "+rel)
		}
	}
	for rel := range after {
		if _, ok := before[rel]; !ok {
			out = append(out, "new: "+rel)
		}
	}
	slices.Sort(out)
	return out
}

// eventNames are the rels (below top, a URL's path or a local path) of
// the events of kind k whose reason starts with prefix, in order.
func eventNames(ev *events, k EventKind, prefix, top string) []string {
	var out []string
	for _, e := range ev.kinds(k) {
		if !strings.HasPrefix(e.Reason, prefix) {
			continue
		}
		name := e.Local
		if name == "" {
			name = e.URL
		}
		_, rel, _ := strings.Cut(filepath.ToSlash(name), top+"/")
		out = append(out, rel)
	}
	return out
}

// resultsOf returns the results with Delete set.
func deleteResults(rs []FileResult) (deleted []FileResult, failed []FileResult) {
	for _, r := range rs {
		switch {
		case !r.Delete:
		case r.Err != nil:
			failed = append(failed, r)
		default:
			deleted = append(deleted, r)
		}
	}
	return deleted, failed
}

// A download mirror with Delete removes the local files and folders the
// server does not have, folders after what they held; it keeps a local
// link (and the file it leads to, outside the tree), a folder that holds a
// link, a folder that holds a name the filters leave out, that name
// itself, and keepftp's staging. Every file copied is the server's.
func TestMirrorDeleteDownload(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true})
	files := map[string][]byte{"a.txt": ftptest.RandomBytes(3000), "sub/b.bin": ftptest.RandomBytes(5000), "sub/c.log": ftptest.RandomBytes(100)}
	for rel, data := range files {
		if err := srv.WriteFile("/s/"+rel, data); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "precious")
	writeLocal(t, dir, map[string]string{
		"a.txt": "old", "extra.txt": "x", "sub/old.bin": "x", "sub/c.log": "a local log, left out by the filter",
		"gone/x": "x", "gone/deeper/y": "y", "held/z": "z", "held/notes.log": "n", ".keepftp/part/stray": "s",
	})
	writeLocal(t, filepath.Dir(outside), map[string]string{"precious": "must stay"})
	if err := os.Symlink(outside, filepath.Join(dir, "lnk")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "ld"), 0o755)
	if err := os.Symlink("../a.txt", filepath.Join(dir, "ld", "inner")); err != nil {
		t.Fatal(err)
	}
	c, ev := deleteClient(t, mustFilter(t, FilterRule{Exclude: true, Pattern: "*.log"}))
	results, err := c.MirrorWith(t.Context(), ToLocal, "ftp://"+srv.Addr()+"/s", dir, MirrorOptions{Delete: true})
	checkNoErrors(t, results, err)
	for rel, data := range files {
		if rel != "sub/c.log" {
			checkLocal(t, filepath.Join(dir, filepath.FromSlash(rel)), data)
		}
	}
	want := []string{"extra.txt", "gone/deeper/y", "gone/deeper", "gone/x", "gone", "held/z", "sub/old.bin"}
	got := eventNames(ev, EventDelete, reasonNotInSource, filepath.ToSlash(dir))
	if !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Errorf("deleted %q, want %q", got, want)
	}
	if slices.Index(got, "gone/deeper/y") > slices.Index(got, "gone/deeper") || slices.Index(got, "gone/x") > slices.Index(got, "gone") {
		t.Errorf("deleted %q: a folder before what it held", got)
	}
	if deleted, _ := deleteResults(results); len(deleted) != len(want) {
		t.Errorf("%d delete results, want %d", len(deleted), len(want))
	}
	snap := treeSnapshot(t, dir)
	for _, rel := range want {
		if _, ok := snap[rel]; ok {
			t.Errorf("%s is still there", rel)
		}
	}
	for _, rel := range []string{"lnk", "ld", "ld/inner", "held", "held/notes.log", "sub/c.log", ".keepftp/part/stray"} {
		if _, ok := snap[rel]; !ok {
			t.Errorf("%s was deleted", rel)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sub", "c.log")); string(b) != "a local log, left out by the filter" {
		t.Errorf("the local file the filter leaves out was changed: %q", b)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "must stay" {
		t.Errorf("the file a local link leads to: %q, %v", b, err)
	}
	kept := eventNames(ev, EventWarning, "not deleted: ", filepath.ToSlash(dir))
	if want := []string{"held", "ld", "ld/inner", "lnk"}; !slices.Equal(sortedCopy(kept), want) {
		t.Errorf("kept with a warning: %q, want %q", kept, want)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// An upload mirror with Delete removes with DELE and RMD the remote files
// and folders the local tree does not have, and the temporaries of
// keepftp's in a folder that goes; it keeps a folder that holds a name the
// filters leave out, that name, the server's copy of a local name left
// out, and a remote .keepftp. Every file uploaded is the local one.
func TestMirrorDeleteUpload(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true})
	files := map[string][]byte{"a.txt": ftptest.RandomBytes(3000), "sub/b.bin": ftptest.RandomBytes(5000), "sub/c.log": ftptest.RandomBytes(100)}
	dir := localTree(t, files)
	temp := path.Base(resume.UploadPartName("/d/gone/was", 10, mtime))
	for rel, data := range map[string]string{
		"a.txt": "stale", "extra.txt": "x", "sub/old.bin": "x", "sub/c.log": "the server's log",
		"gone/x": "x", "gone/deeper/y": "y", "gone/" + temp: "part", "held/z": "z", "held/n.log": "n", ".keepftp/p": "p",
	} {
		if err := srv.WriteFile("/d/"+rel, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	c, ev := deleteClient(t, mustFilter(t, FilterRule{Exclude: true, Pattern: "*.log"}))
	results, err := c.MirrorWith(t.Context(), ToServer, "ftp://"+srv.Addr()+"/d", dir, MirrorOptions{Delete: true})
	checkNoErrors(t, results, err)
	for rel, data := range files {
		if rel == "sub/c.log" {
			continue
		}
		if got, err := afero.ReadFile(srv.Fs(), "/d/"+rel); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s on the server: %v, %d bytes", rel, err, len(got))
		}
	}
	var removes []string
	for _, l := range srv.Commands() {
		if strings.HasPrefix(l, "DELE ") || strings.HasPrefix(l, "RMD ") {
			removes = append(removes, l)
		}
	}
	want := []string{"DELE /d/extra.txt", "DELE /d/gone/" + temp, "DELE /d/gone/deeper/y", "RMD /d/gone/deeper", "DELE /d/gone/x", "RMD /d/gone", "DELE /d/held/z", "DELE /d/sub/old.bin"}
	if !slices.Equal(sortedCopy(removes), sortedCopy(want)) {
		t.Errorf("the server's log shows %q, want %q", removes, want)
	}
	for _, rel := range []string{"extra.txt", "sub/old.bin", "gone"} {
		if _, err := srv.Fs().Stat("/d/" + rel); err == nil {
			t.Errorf("%s is still on the server", rel)
		}
	}
	for rel, data := range map[string]string{"held/n.log": "n", "sub/c.log": "the server's log", ".keepftp/p": "p"} {
		if got, err := afero.ReadFile(srv.Fs(), "/d/"+rel); err != nil || string(got) != data {
			t.Errorf("%s, which no delete may touch: %q, %v", rel, got, err)
		}
	}
	if n := len(ev.kinds(EventDelete)); n != len(want) {
		t.Errorf("%d delete events, want %d", n, len(want))
	}
}

// The FluentFTP #1580 loss: a listing of the source that failed, taken as
// empty, deleted the whole destination. Here, whatever makes the source's
// listing incomplete (a folder answering 550, a bad line, a data
// connection cut with 426, a name that cannot be used), nothing is deleted
// anywhere, the rest is copied, and a result wrapping ErrNotDeleted says
// why (the class LeftOut: exit 9). A top that cannot be listed is an
// error, and deletes nothing either.
func TestMirrorDeleteNothingWhenSourceListingFails(t *testing.T) {
	t.Parallel()
	facts := func(name string, n int) string {
		return fmt.Sprintf("type=file;size=%d;modify=20240301120000; %s\r\n", n, name)
	}
	cases := []struct {
		name string
		hook func(s *ftptest.FakeSession, verb, arg string) bool
		top  bool // the top fails: an error, no results
		list bool // the server lists with LIST only
	}{
		// Real servers answer LIST of a folder they may not read as if all
		// was well; CWD into it answers 550 (docs/servers.md).
		{"LIST gives the folder itself (vsftpd)", func(s *ftptest.FakeSession, verb, arg string) bool {
			switch {
			case verb == "LIST" && strings.HasSuffix(arg, "/t/sub"):
				s.SendData([]byte("d---------    2 1        1            4096 Mar 01 12:00 sub\r\n"), "226 Directory send OK.")
			case verb == "LIST" && strings.Contains(arg, "/t/sub/"):
				s.SendData(nil, "226 Directory send OK.") // vsftpd lists a missing path as empty
			case verb == "CWD" && strings.HasPrefix(arg, "/t/sub"):
				s.Reply("550 Failed to change directory.")
			default:
				return false
			}
			return true
		}, false, true},
		{"LIST gives nothing (proftpd, pure-ftpd)", func(s *ftptest.FakeSession, verb, arg string) bool {
			switch {
			case verb == "LIST" && strings.HasSuffix(arg, "/t/sub"):
				s.SendData(nil, "226 Transfer complete")
			case verb == "CWD" && arg == "/t/sub":
				s.Reply("550 /t/sub: Permission denied")
			default:
				return false
			}
			return true
		}, false, true},
		{"550 on a folder", func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "MLSD" && arg == "/t/sub" {
				s.Reply("550 Permission denied")
				return true
			}
			return false
		}, false, false},
		{"a bad line", func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "MLSD" && arg == "/t/sub" {
				s.SendData([]byte(facts("keep", 4)+"garbage that is no entry\r\n"), "")
				return true
			}
			return false
		}, false, false},
		{"data connection cut", func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "MLSD" && arg == "/t/sub" {
				s.SendData([]byte(facts("keep", 4)+"type=fi"), "426 Connection closed; transfer aborted")
				return true
			}
			return false
		}, false, false},
		{"a name that cannot be used", func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "MLSD" && arg == "/t/sub" {
				s.SendData([]byte(facts("keep", 4)+facts("bad\x1bname", 1)), "")
				return true
			}
			return false
		}, false, false},
		{"the top answers 550", func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "MLSD" && arg == "/t" {
				s.Reply("550 Permission denied")
				return true
			}
			return false
		}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ftptest.StartFake(t)
			f.MLST = !tc.list
			f.WriteFile("/t/a", []byte("aaaa"), mtime)
			f.WriteFile("/t/sub/keep", []byte("kkkk"), mtime)
			f.Hook = tc.hook
			dir := t.TempDir()
			writeLocal(t, dir, map[string]string{"extra": "x", "sub/keep": "old", "sub/other": "o", "old/y": "y"})
			before := treeSnapshot(t, dir)
			c, _ := deleteClient(t, nil)
			p, perr := c.PlanMirror(t.Context(), ToLocal, "ftp://"+f.Addr()+"/t", dir, MirrorOptions{Delete: true})
			results, err := c.MirrorWith(t.Context(), ToLocal, "ftp://"+f.Addr()+"/t", dir, MirrorOptions{Delete: true})
			after := treeSnapshot(t, dir)
			for _, d := range diffSnapshots(before, after) {
				if strings.HasPrefix(d, "gone: ") {
					t.Errorf("%s", d)
				}
			}
			if tc.top {
				if err == nil || perr == nil || len(results) != 0 {
					t.Errorf("the top failed: %v, %d results; want an error and none", err, len(results))
				}
				return
			}
			if err != nil || perr != nil {
				t.Fatalf("mirror: %v, plan: %v", err, perr)
			}
			if p.SourceComplete || p.NoDeletes == "" || p.Counts()[ActDelete] != 0 {
				t.Errorf("plan: complete %v, NoDeletes %q, %d deletes", p.SourceComplete, p.NoDeletes, p.Counts()[ActDelete])
			}
			checkLocal(t, filepath.Join(dir, "a"), []byte("aaaa"))
			_, failed := deleteResults(results)
			if len(failed) != 1 || !errors.Is(failed[0].Err, ErrNotDeleted) || Classify(failed[0].Err) != LeftOut || !strings.Contains(failed[0].Err.Error(), "not complete") {
				t.Errorf("delete results %+v: want one wrapping ErrNotDeleted, saying why", failed)
			}
		})
	}
}

// On a server that lists with LIST only, an empty folder the server can
// enter (CWD 250) is empty: what the destination holds below it goes.
func TestMirrorDeleteBelowAnEmptyListFolder(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.WriteFile("/t/a", []byte("aaaa"), mtime)
	f.WriteFile("/t/sub/x", nil, mtime)
	f.Remove("/t/sub/x") // sub stays, empty
	dir := t.TempDir()
	writeLocal(t, dir, map[string]string{"sub/old": "o"})
	c, _ := deleteClient(t, nil)
	results, err := c.MirrorWith(t.Context(), ToLocal, "ftp://"+f.Addr()+"/t", dir, MirrorOptions{Delete: true})
	checkNoErrors(t, results, err)
	if _, err := os.Stat(filepath.Join(dir, "sub", "old")); err == nil {
		t.Error("sub/old, below a folder the server lists as empty, is still there")
	}
	if n := f.Count("CWD"); n != 1 {
		t.Errorf("%d CWD, want 1 (for the one empty folder)", n)
	}
}

// A server that lists with LIST may hide names that start with a dot
// (vsftpd does without -a): a local name with a dot is then kept, since
// the server may have it; where the listing shows every name (MLSD), it
// goes like any other.
func TestMirrorDeleteKeepsDotNamesAListingMayHide(t *testing.T) {
	t.Parallel()
	for _, mlsd := range []bool{false, true} {
		t.Run(fmt.Sprint("MLSD=", mlsd), func(t *testing.T) {
			t.Parallel()
			f := ftptest.StartFake(t)
			f.MLST = mlsd
			f.WriteFile("/t/a", []byte("aaaa"), mtime)
			dir := t.TempDir()
			writeLocal(t, dir, map[string]string{"extra": "x", ".hidden": "h", ".dir/x": "x"})
			c, _ := deleteClient(t, nil)
			results, err := c.MirrorWith(t.Context(), ToLocal, "ftp://"+f.Addr()+"/t", dir, MirrorOptions{Delete: true})
			checkNoErrors(t, results, err)
			snap := treeSnapshot(t, dir)
			if _, ok := snap["extra"]; ok {
				t.Error("extra is still there")
			}
			for _, rel := range []string{".hidden", ".dir/x"} {
				if _, ok := snap[rel]; ok == mlsd {
					t.Errorf("%s: there %v, with MLSD %v", rel, ok, mlsd)
				}
			}
		})
	}
}

// An upload mirror whose local source is not walked completely (a name
// that cannot be a remote name, a FIFO) deletes nothing on the server:
// no DELE, no RMD.
func TestMirrorUpDeleteNothingWhenSourceIncomplete(t *testing.T) {
	t.Parallel()
	for _, tc := range []string{"newline", "fifo"} {
		t.Run(tc, func(t *testing.T) {
			t.Parallel()
			srv := ftptest.StartServer(t, testserver.Options{})
			srv.WriteFile("/d/extra", []byte("x"))
			srv.WriteFile("/d/old/y", []byte("y"))
			dir := localTree(t, map[string][]byte{"a": []byte("aaaa")})
			if tc == "newline" {
				writeLocal(t, dir, map[string]string{"bad\nname": "b"})
			} else if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
			c, _ := deleteClient(t, nil)
			results, err := c.MirrorWith(t.Context(), ToServer, "ftp://"+srv.Addr()+"/d", dir, MirrorOptions{Delete: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range srv.Commands() {
				if strings.HasPrefix(l, "DELE ") || strings.HasPrefix(l, "RMD ") {
					t.Errorf("the server was sent %q", l)
				}
			}
			if got, err := afero.ReadFile(srv.Fs(), "/d/a"); err != nil || string(got) != "aaaa" {
				t.Errorf("the file that could be copied: %q, %v", got, err)
			}
			if _, failed := deleteResults(results); len(failed) != 1 || !errors.Is(failed[0].Err, ErrNotDeleted) {
				t.Errorf("delete results %+v", failed)
			}
		})
	}
}

// A walk cut short by its bound deletes nothing (not parallel: it lowers
// the bound).
func TestMirrorDeleteNothingPastTheWalkBound(t *testing.T) {
	defer func(n int) { maxStreamEntries = n }(maxStreamEntries)
	maxStreamEntries = 4
	srv := ftptest.StartServer(t, testserver.Options{})
	for i := range 6 {
		srv.WriteFile(fmt.Sprintf("/w/f%d", i), []byte("x"))
	}
	dir := t.TempDir()
	writeLocal(t, dir, map[string]string{"f5": "an old copy of a file past the bound", "extra": "e"})
	before := treeSnapshot(t, dir)
	c, _ := deleteClient(t, nil)
	results, err := c.MirrorWith(t.Context(), ToLocal, "ftp://"+srv.Addr()+"/w", dir, MirrorOptions{Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffSnapshots(before, treeSnapshot(t, dir)) {
		if strings.HasPrefix(d, "gone: ") {
			t.Errorf("%s", d)
		}
	}
	if _, failed := deleteResults(results); len(failed) != 1 || !errors.Is(failed[0].Err, ErrNotDeleted) {
		t.Errorf("delete results %+v", failed)
	}
}

// A run in which a transfer failed deletes nothing, in either direction,
// and says so (rclone sync does the same after errors).
func TestMirrorDeleteNothingAfterAFailedTransfer(t *testing.T) {
	t.Parallel()
	t.Run("download", func(t *testing.T) {
		t.Parallel()
		f := ftptest.StartFake(t)
		f.WriteFile("/t/a", []byte("aaaa"), mtime)
		f.WriteFile("/t/b", []byte("bbbb"), mtime)
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "RETR" && arg == "/t/b" {
				s.Reply("550 Permission denied")
				return true
			}
			return false
		}
		dir := t.TempDir()
		writeLocal(t, dir, map[string]string{"extra": "x"})
		c, _ := deleteClient(t, nil)
		results, err := c.MirrorWith(t.Context(), ToLocal, "ftp://"+f.Addr()+"/t", dir, MirrorOptions{Delete: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "extra")); err != nil {
			t.Errorf("deleted after a failed transfer: %v", err)
		}
		if _, failed := deleteResults(results); len(failed) != 1 || !strings.Contains(failed[0].Err.Error(), "1 file failed") {
			t.Errorf("delete results %+v", failed)
		}
	})
	t.Run("upload", func(t *testing.T) {
		t.Parallel()
		f := ftptest.StartFake(t)
		f.MLST = true
		f.WriteFile("/d/extra", []byte("x"), mtime)
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "STOR" || verb == "APPE" {
				s.Reply("553 Not allowed")
				return true
			}
			return false
		}
		dir := localTree(t, map[string][]byte{"a": []byte("aaaa")})
		c, _ := deleteClient(t, nil)
		results, err := c.MirrorWith(t.Context(), ToServer, "ftp://"+f.Addr()+"/d", dir, MirrorOptions{Delete: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := f.Count("DELE") + f.Count("RMD"); n != 0 {
			t.Errorf("%d DELE or RMD after a failed upload", n)
		}
		if _, failed := deleteResults(results); len(failed) != 1 || !errors.Is(failed[0].Err, ErrNotDeleted) {
			t.Errorf("delete results %+v", failed)
		}
	})
}

// MaxDelete N deletes N, stops before the next, and reports the rest as
// not deleted (LeftOut: exit 9).
func TestMirrorMaxDelete(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/m/a", []byte("a"))
	dir := t.TempDir()
	writeLocal(t, dir, map[string]string{"x1": "1", "x2": "2", "x3": "3", "x4": "4", "x5": "5"})
	c, ev := deleteClient(t, nil)
	results, err := c.MirrorWith(t.Context(), ToLocal, "ftp://"+srv.Addr()+"/m", dir, MirrorOptions{Delete: true, MaxDelete: 2})
	if err != nil {
		t.Fatal(err)
	}
	deleted, failed := deleteResults(results)
	left := 0
	for _, n := range []string{"x1", "x2", "x3", "x4", "x5"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			left++
		}
	}
	if len(deleted) != 2 || left != 3 || len(ev.kinds(EventDelete)) != 2 {
		t.Errorf("%d deleted (%d events), %d left; want 2 and 3", len(deleted), len(ev.kinds(EventDelete)), left)
	}
	if len(failed) != 1 || Classify(failed[0].Err) != LeftOut || !strings.Contains(failed[0].Err.Error(), "the limit of 2 deletes was reached (MaxDelete, --max-delete): 3 entries of 5 not deleted") {
		t.Errorf("delete results %+v", failed)
	}
}

// A local file that changed between the plan and its delete is kept,
// and reported; the other deletes go on.
func TestMirrorDeleteKeepsALocalFileChangedSinceThePlan(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/c/a", []byte("a"))
	dir := t.TempDir()
	writeLocal(t, dir, map[string]string{"x": "x", "y": "y"})
	c, _ := deleteClient(t, nil)
	p, err := c.PlanMirror(t.Context(), ToLocal, "ftp://"+srv.Addr()+"/c", dir, MirrorOptions{Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	writeLocal(t, dir, map[string]string{"x": "new work, written after the listing"})
	results, err := c.RunPlan(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "x")); err != nil || string(b) != "new work, written after the listing" {
		t.Errorf("the changed file: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "y")); err == nil {
		t.Error("y was not deleted")
	}
	if deleted, failed := deleteResults(results); len(deleted) != 1 || len(failed) != 1 || !strings.Contains(failed[0].Err.Error(), "changed since it was listed") {
		t.Errorf("deleted %+v, failed %+v", deleted, failed)
	}
}

// Nothing below a name the source has in another form is deleted: a
// local folder where the server has a file stays with all it holds, a
// local file where the server has a folder stays.
func TestPlanDeleteNothingBelowANameTheSourceHas(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/k/conf", []byte("a file on the server"))
	srv.WriteFile("/k/dir/f", []byte("f"))
	dir := t.TempDir()
	writeLocal(t, dir, map[string]string{"conf/inner": "i", "conf/deeper/x": "x", "dir": "a local file", "extra": "e"})
	c, _ := deleteClient(t, nil)
	p, err := c.PlanMirror(t.Context(), ToLocal, "ftp://"+srv.Addr()+"/k", dir, MirrorOptions{Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	var dels []string
	for _, a := range p.Actions {
		if a.Kind == ActDelete {
			dels = append(dels, a.Rel)
		}
	}
	if !slices.Equal(dels, []string{"extra"}) {
		t.Errorf("planned deletes %q, want only extra", dels)
	}
}

// PlanMirror changes nothing on either side, with Delete too: the server
// is sent no STOR, APPE, DELE, RMD, MKD, RNFR, RNTO, MFMT nor SITE, and
// the local tree (no staging folder made either) is as it was.
func TestPlanMirrorChangesNothing(t *testing.T) {
	t.Parallel()
	for _, d := range []Direction{ToLocal, ToServer} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true})
			srv.WriteFile("/p/a", []byte("server a"))
			srv.WriteFile("/p/only-server/x", []byte("x"))
			srv.WriteFile("/p/"+path.Base(resume.UploadPartName("/p/b", 5, mtime)), []byte("part"))
			dir := localTree(t, map[string][]byte{"a": []byte("local a!"), "b": []byte("bbbbb"), "only-local/y": []byte("y")})
			before := treeSnapshot(t, dir)
			c, _ := deleteClient(t, nil)
			p, err := c.PlanMirror(t.Context(), d, "ftp://"+srv.Addr()+"/p", dir, MirrorOptions{Delete: true, Checksum: true})
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			counts := p.Counts()
			if counts[ActTransfer] == 0 || counts[ActDelete] == 0 {
				t.Errorf("plan %v: want transfers and deletes to show", counts)
			}
			for _, l := range srv.Commands() {
				verb, _, _ := strings.Cut(l, " ")
				if slices.Contains([]string{"STOR", "APPE", "STOU", "DELE", "RMD", "MKD", "XMKD", "XRMD", "RNFR", "RNTO", "MFMT", "SITE"}, strings.ToUpper(verb)) ||
					strings.ToUpper(verb) == "MDTM" && strings.Count(l, " ") > 1 {
					t.Errorf("the server was sent %q", l)
				}
			}
			if diff := diffSnapshots(before, treeSnapshot(t, dir)); len(diff) > 0 {
				t.Errorf("the local tree changed: %q", diff)
			}
		})
	}
}
