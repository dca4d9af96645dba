package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
	"github.com/spf13/afero"
)

// mirror --delete and --dry-run from the command line: exit codes, the
// summary's lines, the events, the server's log and sha256 at the
// destination.

// changingVerbs are the commands that change something on a server: a
// dry run sends none of them.
var changingVerbs = []string{"STOR", "STOU", "APPE", "DELE", "RMD", "XRMD", "MKD", "XMKD", "RNFR", "RNTO", "MFMT", "SITE"}

// changingCommands are the commands of log that change something on the
// server ("MDTM time path" too, vsftpd's way to set a time).
func changingCommands(log []string) []string {
	var out []string
	for _, l := range log {
		verb, arg, _ := strings.Cut(l, " ")
		verb = strings.ToUpper(verb)
		if slices.Contains(changingVerbs, verb) || verb == "MDTM" && strings.Contains(arg, " ") {
			out = append(out, l)
		}
	}
	return out
}

// snapshot is every entry below dir, links not followed: folders, files
// with their size, time and sha256, links with where they lead.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			to, _ := os.Readlink(p)
			snap[rel] = "link to " + to
		case st.IsDir():
			snap[rel] = fmt.Sprintf("folder %v %d", st.Mode(), st.ModTime().UnixNano())
		default:
			data, _ := os.ReadFile(p)
			snap[rel] = fmt.Sprintf("file %v %d %x", st.Mode(), st.ModTime().UnixNano(), sha256.Sum256(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for rel, b := range before {
		if a, ok := after[rel]; !ok {
			t.Errorf("%s is gone", rel)
		} else if a != b {
			t.Errorf("%s changed: %s, was %s", rel, a, b)
		}
	}
	for rel := range after {
		if _, ok := before[rel]; !ok {
			t.Errorf("%s is new", rel)
		}
	}
}

// writeFiles writes files (rel -> data) below dir, each with the time
// given (zero: now).
func writeFiles(t *testing.T, dir string, files map[string]string, tm time.Time) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if !tm.IsZero() {
			os.Chtimes(p, tm, tm)
		}
	}
}

// planLines are the lines of a dry run's plan on stdout, by path:
// "transfer (missing)".
func planLines(out string) map[string]string {
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		kind, rest, ok := strings.Cut(l, "  ")
		if !ok || strings.HasPrefix(l, "dry run:") {
			continue
		}
		rest = strings.TrimLeft(rest, " ")
		name, reason, _ := strings.Cut(rest, "  ")
		lines[name] = strings.TrimSpace(kind) + " " + reason
	}
	return lines
}

// mirror --dry-run prints the plan, each line with its reason (missing,
// size differs, newer, partial to resume, up to date, a folder to make,
// a delete), exits 0, and changes nothing on either side: the server's
// log shows no command that changes a file, and the local tree, its
// staging folder included, is as it was. With --json the plan is "plan"
// events and a summary. Both directions.
func TestMirrorDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	old := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	newer := old.Add(time.Hour)
	t.Run("download", func(t *testing.T) {
		t.Parallel()
		srv := ftptest.StartServer(t, testserver.Options{})
		for rel, data := range map[string]string{"a": "aaaa", "b": "bbbbbb", "c": "cccc", "d": "dddd", "e": "eeeeeeee", "new/f": "f"} {
			srv.WriteFile("/s/"+rel, []byte(data))
			srv.Fs().Chtimes("/s/"+rel, newer, newer)
		}
		srv.Fs().Chtimes("/s/d", old, old)
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"b": "bb", "c": "CCCC", "extra": "x", "gone/y": "y", ".keepftp/part/e": "eee"}, old)
		writeFiles(t, dir, map[string]string{"d": "dddd"}, old)
		before := snapshot(t, dir)
		url := "ftp://" + srv.Addr() + "/s"
		code, out, errOut := runKeepftp(t, nil, "mirror", "--no-profile", "--delete", "--dry-run", url, dir)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		want := map[string]string{
			"a": "transfer (missing)", "b": "transfer (size differs: 6 at the source, 2 at the destination)",
			"c": "transfer (newer at the source)", "d": "skip (up to date: same size and time (to the second))",
			"e": "transfer (partial to resume)", "new/": "mkdir (missing)", "new/f": "transfer (missing)",
			"extra": "delete (not in the source)", "gone/y": "delete (not in the source)", "gone/": "delete (not in the source)",
		}
		if got := planLines(out); !mapsEqual(got, want) {
			t.Errorf("plan:\n%s\nwant %q", out, want)
		}
		if !strings.Contains(errOut, "nothing was changed") {
			t.Errorf("no summary: %s", errOut)
		}
		code, out, errOut = runKeepftp(t, nil, "mirror", "--no-profile", "--delete", "--dry-run", "--json", url, dir)
		if code != ExitOK {
			t.Fatalf("--json: exit %d\n%s", code, errOut)
		}
		got := map[string]string{}
		var sum map[string]any
		for _, e := range jsonEvents(t, out) {
			switch e["event"] {
			case "plan":
				p := e["path"].(string)
				if e["dir"] == true {
					p += "/"
				}
				got[p] = fmt.Sprintf("%s (%s)", e["action"], e["reason"])
			case "summary":
				sum = e
			default:
				t.Errorf("event %v in a dry run", e)
			}
		}
		if !mapsEqual(got, want) {
			t.Errorf("plan events %q, want %q", got, want)
		}
		if sum == nil || sum["dry_run"] != true || sum["to_transfer"] != 5.0 || sum["to_delete"] != 3.0 || sum["up_to_date"] != 1.0 {
			t.Errorf("summary %v", sum)
		}
		sameSnapshot(t, before, snapshot(t, dir))
		if c := changingCommands(srv.Commands()); len(c) > 0 {
			t.Errorf("the server's log shows %q", c)
		}
	})
	t.Run("upload", func(t *testing.T) {
		t.Parallel()
		srv := ftptest.StartServer(t, testserver.Options{})
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"a": "aaaa", "b": "bbbbbb", "c": "cccc", "d": "dddd", "e": "eeeeeeee", "new/f": "f"}, newer)
		os.Chtimes(filepath.Join(dir, "d"), old, old)
		for rel, data := range map[string]string{"b": "bb", "c": "CCCC", "d": "dddd", "extra": "x", "gone/y": "y",
			path.Base(resume.UploadPartName("/u/e", 8, newer)): "eee"} {
			srv.WriteFile("/u/"+rel, []byte(data))
			srv.Fs().Chtimes("/u/"+rel, old, old)
		}
		before := snapshot(t, dir)
		url := "ftp://" + srv.Addr() + "/u"
		code, out, errOut := runKeepftp(t, nil, "mirror", "--no-profile", "--delete", "-n", dir, url)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		want := map[string]string{
			"a": "transfer (missing)", "b": "transfer (size differs: 6 at the source, 2 at the destination)",
			"c": "transfer (newer at the source)", "d": "skip (up to date: same size and time (to the second))",
			"e": "transfer (partial to resume)", "new/": "mkdir (missing)", "new/f": "transfer (missing)",
			"extra": "delete (not in the source)", "gone/y": "delete (not in the source)", "gone/": "delete (not in the source)",
		}
		if got := planLines(out); !mapsEqual(got, want) {
			t.Errorf("plan:\n%s\nwant %q", out, want)
		}
		sameSnapshot(t, before, snapshot(t, dir))
		if c := changingCommands(srv.Commands()); len(c) > 0 {
			t.Errorf("the server's log shows %q", c)
		}
		if _, err := srv.Fs().Stat("/u/extra"); err != nil {
			t.Errorf("extra: %v", err)
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// mirror --delete, both ways: exit 0, each file's sha256 at the
// destination is the source's, what the source lacks is gone (a "delete"
// event and a "deleted:" line each; DELE and RMD in the server's log for
// an upload), what the filters leave out stays.
func TestMirrorDeleteBothWays(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{"a": ftptest.RandomBytes(3000), "sub/b": ftptest.RandomBytes(7000)}
	t.Run("download", func(t *testing.T) {
		t.Parallel()
		srv := ftptest.StartServer(t, testserver.Options{})
		for rel, data := range files {
			srv.WriteFile("/s/"+rel, data)
		}
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"extra": "x", "gone/y": "y", "sub/keep.log": "k"}, time.Time{})
		code, out, errOut := runKeepftp(t, nil, "mirror", "--no-profile", "--delete", "--exclude", "*.log", "ftp://"+srv.Addr()+"/s", dir)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		for rel, data := range files {
			got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
			if sha256.Sum256(got) != sha256.Sum256(data) {
				t.Errorf("%s: sha256 differs", rel)
			}
		}
		for _, rel := range []string{"extra", "gone/y", "gone"} {
			if _, err := os.Lstat(filepath.Join(dir, rel)); err == nil {
				t.Errorf("%s is still there", rel)
			}
			if !strings.Contains(errOut, "deleted: "+filepath.Join(dir, rel)+"\n") {
				t.Errorf("no line says %s was deleted:\n%s", rel, errOut)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "sub", "keep.log")); err != nil {
			t.Errorf("the name the filter leaves out: %v", err)
		}
		if !strings.Contains(errOut, "2 files: 2 done, 0 unverified, 0 up to date, 0 failed, 3 deleted;") {
			t.Errorf("summary:\n%s", errOut)
		}
		_ = out
	})
	t.Run("upload", func(t *testing.T) {
		t.Parallel()
		srv := ftptest.StartServer(t, testserver.Options{})
		dir := t.TempDir()
		for rel, data := range files {
			writeFiles(t, dir, map[string]string{rel: string(data)}, time.Time{})
		}
		for _, rel := range []string{"extra", "gone/y", "sub/keep.log"} {
			srv.WriteFile("/u/"+rel, []byte("x"))
		}
		code, out, errOut := runKeepftp(t, nil, "mirror", "--no-profile", "--json", "--delete", "--exclude", "*.log", dir, "ftp://"+srv.Addr()+"/u")
		if code != ExitOK {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		for rel, data := range files {
			got, _ := afero.ReadFile(srv.Fs(), "/u/"+rel)
			if sha256.Sum256(got) != sha256.Sum256(data) {
				t.Errorf("%s: sha256 on the server differs", rel)
			}
		}
		var deletes []string
		var sum map[string]any
		for _, e := range jsonEvents(t, out) {
			switch e["event"] {
			case "delete":
				deletes = append(deletes, e["url"].(string))
			case "summary":
				sum = e
			}
		}
		u := "ftp://" + srv.Addr() + "/u/"
		if want := []string{u + "extra", u + "gone", u + "gone/y"}; !slices.Equal(sortedStrings(deletes), want) {
			t.Errorf("delete events %q, want %q", deletes, want)
		}
		if sum == nil || sum["deleted"] != 3.0 || sum["files"] != 2.0 || sum["failed"] != 0.0 {
			t.Errorf("summary %v", sum)
		}
		var removes []string
		for _, l := range srv.Commands() {
			if strings.HasPrefix(l, "DELE ") || strings.HasPrefix(l, "RMD ") {
				removes = append(removes, l)
			}
		}
		if want := []string{"DELE /u/extra", "DELE /u/gone/y", "RMD /u/gone"}; !slices.Equal(removes, want) {
			t.Errorf("the server's log shows %q, want %q", removes, want)
		}
		if _, err := srv.Fs().Stat("/u/sub/keep.log"); err != nil {
			t.Errorf("the name the filter leaves out: %v", err)
		}
	})
}

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// The FluentFTP #1580 loss, from the command line: a folder of the source
// answers 550; the rest is copied, nothing is deleted anywhere, a line
// says why, and the exit code is 9. A dry run says the same, and exits 9.
func TestMirrorDeleteSourceListingFailsExit9(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.MLST = true
	f.WriteFile("/t/a", []byte("aaaa"), time.Now())
	f.WriteFile("/t/denied/b", []byte("bbbb"), time.Now())
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "MLSD" && arg == "/t/denied" {
			s.Reply("550 Permission denied")
			return true
		}
		return false
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"extra": "x", "denied/b": "old b", "denied/c": "c"}, time.Time{})
	url := "ftp://" + f.Addr() + "/t"
	code, out, errOut := runKeepftp(t, nil, "mirror", "--no-profile", "--delete", "-n", url, dir)
	if code != ExitPartial || !strings.Contains(errOut, "deletes held back: the source's listing was not complete") || strings.Contains(out, "delete ") {
		t.Errorf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	before := snapshot(t, dir)
	code, _, errOut = runKeepftp(t, nil, "mirror", "--no-profile", "--delete", url, dir)
	if code != ExitPartial {
		t.Errorf("exit %d, want 9\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "not deleted: "+dir+": deletes held back: the source's listing was not complete") {
		t.Errorf("no line says why nothing was deleted:\n%s", errOut)
	}
	after := snapshot(t, dir)
	for rel := range before {
		if _, ok := after[rel]; !ok {
			t.Errorf("%s was deleted", rel)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a")); string(got) != "aaaa" {
		t.Errorf("the file that could be copied: %q", got)
	}
	if n := f.Count("DELE") + f.Count("RMD"); n != 0 {
		t.Errorf("%d DELE or RMD", n)
	}
}

// --max-delete N deletes N and exits 9; a dry run that would pass it
// exits 9 too. --max-delete without --delete, or below 1, is a usage
// error (exit 2) and nothing is sent.
func TestMirrorMaxDeleteExit9(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/m/a", []byte("a"))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"x1": "1", "x2": "2", "x3": "3"}, time.Time{})
	url := "ftp://" + srv.Addr() + "/m"
	for _, args := range [][]string{{"--max-delete", "2"}, {"--delete", "--max-delete", "0"}, {"--delete", "--max-delete", "-3"}} {
		n := len(srv.Commands())
		code, _, errOut := runKeepftp(t, nil, append(append([]string{"mirror", "--no-profile"}, args...), url, dir)...)
		if code != ExitUsage || len(srv.Commands()) != n {
			t.Errorf("%q: exit %d, %d commands sent\n%s", args, code, len(srv.Commands())-n, errOut)
		}
	}
	code, _, errOut := runKeepftp(t, nil, "mirror", "--no-profile", "--delete", "--max-delete", "2", "--dry-run", url, dir)
	if code != ExitPartial || !strings.Contains(errOut, "--max-delete 2 would stop the run") {
		t.Errorf("dry run: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runKeepftp(t, nil, "mirror", "--no-profile", "--delete", "--max-delete", "2", url, dir)
	if code != ExitPartial || !strings.Contains(errOut, "the limit of 2 deletes was reached (MaxDelete, --max-delete): 1 entry of 3 not deleted") {
		t.Errorf("exit %d\n%s", code, errOut)
	}
	left := 0
	for _, n := range []string{"x1", "x2", "x3"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			left++
		}
	}
	if left != 1 || strings.Count("\n"+errOut, "\ndeleted: ") != 2 {
		t.Errorf("%d left, want 1:\n%s", left, errOut)
	}
}
