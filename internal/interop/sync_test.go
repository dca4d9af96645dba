package interop

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/resume"
)

// The rows of the matrix for mirror --delete and --dry-run (the library's
// PlanMirror): small trees, the server's own log of commands.

// changingVerbs are the commands that change something on a server.
var changingVerbs = []string{"STOR", "STOU", "APPE", "DELE", "RMD", "XRMD", "MKD", "XMKD", "RNFR", "RNTO", "MFMT", "SITE"}

// changing returns the commands of cmds that change something on the
// server ("MDTM time path" too: vsftpd's way to set a time).
func changing(cmds []string) []string {
	var out []string
	for _, l := range cmds {
		verb, arg, _ := strings.Cut(l, " ")
		if slices.Contains(changingVerbs, verb) || verb == "MDTM" && strings.Contains(arg, " ") {
			out = append(out, l)
		}
	}
	return out
}

// serverCommands is the server's log of commands; the cell is skipped
// where the server keeps none (pure-ftpd without its syslog's namespace).
func (s *server) serverCommands(t *testing.T) []string {
	t.Helper()
	cmds, err := s.commands()
	if errors.Is(err, realserver.ErrNoCommandLog) {
		skipCell(t, "no log of commands here")
	}
	if err != nil {
		t.Fatal(err)
	}
	return cmds
}

// serverCommandsWhen returns the server's log of commands once done says
// it holds what is awaited, or as it is after 10 s: pure-ftpd's goes
// through syslog, and its last lines may come after the client is done
// (on a loaded run, the upload's last RMD was read as the download's).
func (s *server) serverCommandsWhen(t *testing.T, done func([]string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cmds := s.serverCommands(t)
		if done(cmds) || time.Now().After(deadline) {
			return cmds
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// localSnapshot is every entry below dir, links not followed, with the
// files' sha256 and times.
func localSnapshot(t *testing.T, dir string) map[string]string {
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
			snap[rel] = "link " + to
		case st.IsDir():
			snap[rel] = "folder"
		default:
			data, _ := os.ReadFile(p)
			snap[rel] = fmt.Sprintf("%d %x", st.ModTime().UnixNano(), sha256.Sum256(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func excludeLogs(t *testing.T) *keepftp.Filter {
	t.Helper()
	f, err := keepftp.NewFilter(keepftp.FilterOptions{Rules: []keepftp.FilterRule{{Exclude: true, Pattern: "*.log"}}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// deleteResults splits a mirror's delete results: done, and failed or
// held back.
func deleteResults(rs []keepftp.FileResult) (done int, failed []keepftp.FileResult) {
	for _, r := range rs {
		switch {
		case !r.Delete:
		case r.Err != nil:
			failed = append(failed, r)
		default:
			done++
		}
	}
	return done, failed
}

// scMirrorDelete: mirror --delete both ways, plain and over TLS.
//  1. Upload: every file's sha256 on the server is the local one's; the
//     server's log shows DELE of each remote file the local tree lacks,
//     RMD of each such folder after what it held, and nothing of a name
//     the filter leaves out (which stays).
//  2. Download from there: every file's sha256 is the server's; the local
//     extras are gone, a local link and a name the filter leaves out stay;
//     the server is sent no DELE nor RMD.
//  3. The FluentFTP #1580 loss: a folder of the server that it may not
//     read (mode 000; the server's sessions run as an unprivileged user),
//     and a name with a control byte: the listing is not complete, so
//     nothing is deleted anywhere and a result wrapping ErrNotDeleted (the
//     class LeftOut: exit 9) says why. pyftpdlib runs as root here and
//     reads any folder: the name makes its listing incomplete.
func scMirrorDelete(t *testing.T, name string) (int64, string) {
	s := startServerWith(t, name, realserver.Options{LogCommands: true})
	top := path.Join(s.uploadDir, "sync")
	filter := excludeLogs(t)
	o := s.clientOpts()
	o.Parallel, o.Filter, o.NoProfile = 2, filter, true
	cl := keepftp.NewClient(o)
	defer cl.Close()
	url := s.url(s.addr, top)

	// 1. Upload.
	files := map[string][]byte{"a.bin": ftptest.RandomBytes(s.size(300_000, 100_000)), "sub/b.bin": ftptest.RandomBytes(20_000)}
	dir := writeTree(t, map[string][]byte{"a.bin": files["a.bin"], "sub/b.bin": files["sub/b.bin"], "sub/local.log": []byte("l")})
	for _, rel := range []string{"extra.txt", "gone/x", "gone/deeper/y", "sub/old.bin", "sub/n.log"} {
		if err := s.write(path.Join(top, rel), []byte("on the server: "+rel)); err != nil {
			t.Fatal(err)
		}
	}
	logged := len(s.serverCommands(t))
	results, err := cl.MirrorWith(t.Context(), keepftp.ToServer, url, dir, keepftp.MirrorOptions{Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("upload: %s: %v", r.URL, r.Err)
		}
	}
	var n int64
	for rel, data := range files {
		got, err := s.read(path.Join(top, rel))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		checkSHA(t, got, data)
		n += int64(len(data))
	}
	for _, rel := range []string{"extra.txt", "gone", "sub/old.bin"} {
		if _, err := s.stat(path.Join(top, rel)); err == nil {
			t.Errorf("%s is still on the server", rel)
		}
	}
	if got, err := s.read(path.Join(top, "sub/n.log")); err != nil || string(got) != "on the server: sub/n.log" {
		t.Errorf("sub/n.log, left out by the filter: %q, %v", got, err)
	}
	want := []string{"DELE extra.txt", "DELE gone/deeper/y", "RMD gone/deeper", "DELE gone/x", "RMD gone", "DELE sub/old.bin"}
	removals := func(cmds []string) []string {
		var removes []string
		for _, c := range cmds {
			if strings.HasPrefix(c, "DELE ") || strings.HasPrefix(c, "RMD ") {
				removes = append(removes, strings.Replace(c, top+"/", "", 1))
			}
		}
		return removes
	}
	removes := removals(s.serverCommandsWhen(t, func(c []string) bool { return len(removals(c[logged:])) >= len(want) })[logged:])
	if !slices.Equal(sortedCopy(removes), sortedCopy(want)) {
		t.Errorf("the server's log shows %q, want %q", removes, want)
	}
	if slices.Index(removes, "RMD gone") < slices.Index(removes, "DELE gone/x") || slices.Index(removes, "RMD gone/deeper") < slices.Index(removes, "DELE gone/deeper/y") {
		t.Errorf("the server's log shows %q: a folder removed before what it held", removes)
	}

	// 2. Download.
	dir2 := t.TempDir()
	writeLocalFiles(t, dir2, map[string]string{"extra": "x", "gone/y": "y", "sub/keep.log": "k"})
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("outside"), 0o644)
	os.Symlink(outside, filepath.Join(dir2, "lnk"))
	logged = len(s.serverCommands(t))
	results, err = cl.MirrorWith(t.Context(), keepftp.ToLocal, url, dir2, keepftp.MirrorOptions{Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("download: %s: %v", r.URL, r.Err)
		}
	}
	downDeleted, _ := deleteResults(results)
	for rel, data := range files {
		checkSHA(t, readLocal(t, filepath.Join(dir2, filepath.FromSlash(rel))), data)
	}
	snap := localSnapshot(t, dir2)
	for _, rel := range []string{"extra", "gone"} {
		if _, ok := snap[rel]; ok {
			t.Errorf("local %s is still there", rel)
		}
	}
	for _, rel := range []string{"lnk", filepath.Join("sub", "keep.log")} {
		if _, ok := snap[rel]; !ok {
			t.Errorf("local %s was deleted", rel)
		}
	}
	if c := changing(s.serverCommands(t)[logged:]); len(c) > 0 {
		t.Errorf("a download sent %q", c)
	}

	// 3. A listing that is not complete: nothing is deleted.
	locked := path.Join(top, "locked")
	if err := s.write(path.Join(locked, "f"), []byte("f")); err != nil {
		t.Fatal(err)
	}
	if err := s.write(path.Join(top, "esc\x1b[2Jname"), []byte("e")); err != nil {
		t.Fatal(err)
	}
	if err := s.chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	defer s.chmod(locked, 0o755)
	dir3 := t.TempDir()
	writeLocalFiles(t, dir3, map[string]string{"extra": "x", "locked/f": "old f", "locked/g": "g"})
	before := localSnapshot(t, dir3)
	logged = len(s.serverCommands(t))
	results, err = cl.MirrorWith(t.Context(), keepftp.ToLocal, url, dir3, keepftp.MirrorOptions{Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	after := localSnapshot(t, dir3)
	for rel := range before {
		if _, ok := after[rel]; !ok {
			t.Errorf("local %s was deleted though the source's listing was not complete", rel)
		}
	}
	_, held := deleteResults(results)
	if len(held) != 1 || !errors.Is(held[0].Err, keepftp.ErrNotDeleted) || keepftp.Classify(held[0].Err) != keepftp.LeftOut {
		t.Errorf("delete results %+v: want one wrapping ErrNotDeleted", held)
	}
	var why []string
	for _, r := range results {
		if errors.Is(r.Err, keepftp.ErrLeftOut) {
			switch msg := r.Err.Error(); {
			case strings.Contains(msg, "cannot read the folder"):
				why = append(why, "LIST 226+CWD 550")
			case strings.Contains(msg, "550"):
				why = append(why, "550")
			case strings.Contains(msg, "unsafe"):
				why = append(why, "bad name")
			default:
				why = append(why, msg)
			}
		}
	}
	slices.Sort(why)
	if len(why) == 0 {
		t.Errorf("nothing reported as left out: %+v", results)
	}
	if c := changing(s.serverCommands(t)[logged:]); len(c) > 0 {
		t.Errorf("the server was sent %q", c)
	}
	return n, fmt.Sprintf("%d deleted up, %d down; held: %s", len(removes), downDeleted, strings.Join(slices.Compact(why), "+"))
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// writeLocalFiles writes files (rel -> text) below dir.
func writeLocalFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// scMirrorDryRun: PlanMirror (what mirror --dry-run prints), with Delete
// and Checksum, both ways, plain and over TLS: the plan shows transfers
// (missing, size differs, partial to resume), a folder to make and
// deletes; the server's log shows no command that changes a file (no
// STOR, APPE, DELE, RMD, MKD, RNFR, MFMT), the server's files are as they
// were, and the local tree too, with no staging folder made.
func scMirrorDryRun(t *testing.T, name string) (int64, string) {
	s := startServerWith(t, name, realserver.Options{LogCommands: true})
	top := path.Join(s.uploadDir, "dry")
	local := map[string][]byte{"a": []byte("same"), "b": []byte("local b, longer"), "e": ftptest.RandomBytes(5000), "new/f": []byte("f")}
	dir := writeTree(t, local)
	st, err := os.Stat(filepath.Join(dir, "e"))
	if err != nil {
		t.Fatal(err)
	}
	remote := map[string][]byte{"a": []byte("same"), "b": []byte("b"), "only-server/x": []byte("x"),
		path.Base(resume.UploadPartName(path.Join(top, "e"), 5000, st.ModTime())): local["e"][:2000]}
	for rel, data := range remote {
		if err := s.write(path.Join(top, rel), data); err != nil {
			t.Fatal(err)
		}
	}
	before := localSnapshot(t, dir)
	o := s.clientOpts()
	o.NoProfile = true
	cl := keepftp.NewClient(o)
	defer cl.Close()
	logged := len(s.serverCommands(t))
	var notes []string
	for _, d := range []keepftp.Direction{keepftp.ToServer, keepftp.ToLocal} {
		p, err := cl.PlanMirror(t.Context(), d, s.url(s.addr, top), dir, keepftp.MirrorOptions{Delete: true, Checksum: true})
		if err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		reasons := map[string]string{}
		for _, a := range p.Actions {
			reasons[a.Rel] = string(a.Kind) + " " + a.Reason
		}
		var want map[string]string
		if d == keepftp.ToServer {
			want = map[string]string{"b": "transfer size differs: 15 at the source, 1 at the destination", "e": "transfer partial to resume",
				"new": "mkdir missing", "new/f": "transfer missing", "only-server/x": "delete not in the source", "only-server": "delete not in the source"}
		} else {
			want = map[string]string{"b": "transfer size differs: 1 at the source, 15 at the destination", "only-server": "mkdir missing",
				"only-server/x": "transfer missing", "e": "delete not in the source", "new/f": "delete not in the source", "new": "delete not in the source"}
		}
		for rel, w := range want {
			if reasons[rel] != w {
				t.Errorf("%v: %s planned %q, want %q", d, rel, reasons[rel], w)
			}
		}
		if len(p.Problems) > 0 || p.NoDeletes != "" {
			t.Errorf("%v: problems %v, %q", d, p.Problems, p.NoDeletes)
		}
		c := p.Counts()
		notes = append(notes, fmt.Sprintf("%s %d+%d-%d", // transfers + folders - deletes
			map[keepftp.Direction]string{keepftp.ToServer: "up", keepftp.ToLocal: "down"}[d], c[keepftp.ActTransfer], c[keepftp.ActMkdir], c[keepftp.ActDelete]))
	}
	cl.Close()
	cmds := s.serverCommands(t)[logged:]
	if c := changing(cmds); len(c) > 0 {
		t.Errorf("the server's log shows %q", c)
	}
	if len(cmds) == 0 && s.name != embedded {
		t.Error("the server's log shows no command at all: it cannot show that none changed a file")
	}
	for rel, data := range remote {
		if got, err := s.read(path.Join(top, rel)); err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
			t.Errorf("the server's %s changed: %v", rel, err)
		}
	}
	if _, err := s.stat(path.Join(top, "new")); err == nil {
		t.Error("a folder was made on the server")
	}
	after := localSnapshot(t, dir)
	if !mapsEqual(before, after) {
		t.Errorf("the local tree changed: %v, was %v", after, before)
	}
	return 0, fmt.Sprintf("%s; %d cmds, none changing", strings.Join(notes, ", "), len(cmds))
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
