package main

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
)

// lastIndex is the position of the last server log line equal to cmd, or
// -1.
func lastIndex(log []string, cmd string) int {
	for i := len(log) - 1; i >= 0; i-- {
		if log[i] == cmd {
			return i
		}
	}
	return -1
}

// lastHash is the position of the last hash command of p in the server's
// log (HASH, or an X command such as XSHA256), or -1.
func lastHash(log []string, p string) int {
	for i := len(log) - 1; i >= 0; i-- {
		verb, arg, _ := strings.Cut(log[i], " ")
		if arg == p && (verb == "HASH" || strings.HasPrefix(verb, "XSHA") || verb == "XMD5" || verb == "XCRC") {
			return i
		}
	}
	return -1
}

// jsonEvents parses --json output into events.
func jsonEvents(t *testing.T, out string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("event %q: %v", l, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// TestGetRemoveSourceFiles: get --remove-source-files of a pattern removes
// each remote file with DELE after the hash that verified its copy (the
// server's log shows the order), reports a "removed" event per file and
// the count in the summary, and the copies are whole.
func TestGetRemoveSourceFiles(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true})
	files := map[string][]byte{"a.bin": ftptest.RandomBytes(70_000), "b.bin": ftptest.RandomBytes(30_000)}
	for n, data := range files {
		srv.WriteFile("/out/"+n, data)
	}
	dst := t.TempDir()
	code, stdout, stderr := runKeepftp(t, nil, "get", "--no-profile", "--json", "--remove-source-files", "-o", dst, "ftp://"+srv.Addr()+"/out/*.bin")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	log := srv.Commands()
	for n, data := range files {
		if got := filesUnder(t, dst)[n]; got != sha256.Sum256(data) {
			t.Errorf("%s: missing or sha256 differs", n)
		}
		p := "/out/" + n
		retr, hash, dele := lastIndex(log, "RETR "+p), lastHash(log, p), lastIndex(log, "DELE "+p)
		if retr < 0 || hash < retr || dele < hash {
			t.Errorf("%s: server log RETR at %d, hash at %d, DELE at %d; want them in that order:\n%s", n, retr, hash, dele, strings.Join(log, "\n"))
		}
		if _, err := srv.Fs().Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still on the server (%v)", p, err)
		}
	}
	removed := 0
	evs := jsonEvents(t, stdout)
	for _, ev := range evs {
		if ev["event"] == "removed" {
			removed++
			if !strings.Contains(ev["reason"].(string), "SHA-256") {
				t.Errorf("removed event %v does not say the hash checked it", ev)
			}
		}
	}
	if sum := evs[len(evs)-1]; removed != 2 || sum["event"] != "summary" || sum["removed"] != 2.0 {
		t.Errorf("%d removed events, summary %v; want 2 and removed: 2", removed, sum)
	}
}

// TestGetRemoveSourceUnverified: a download nothing could verify (the
// server gives no SIZE, no MDTM, no hash) keeps the remote file: no DELE,
// the exit code is as without the flag (0, the file is complete but
// unverified), and stderr says why the source stayed.
func TestGetRemoveSourceUnverified(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "SIZE" || verb == "MDTM" {
			s.Reply("502 not implemented")
			return true
		}
		return false
	}
	data := ftptest.RandomBytes(20_000)
	f.WriteFile("/bare", data, time.Now())
	dst := filepath.Join(t.TempDir(), "bare")
	code, _, stderr := runKeepftp(t, nil, "get", "--no-profile", "--remove-source-files", "-o", dst, "ftp://"+f.Addr()+"/bare")
	if code != ExitOK || !strings.Contains(stderr, "unverified") || !strings.Contains(stderr, "is kept: nothing verified the copy") {
		t.Errorf("exit %d, want 0, unverified, and the source kept:\n%s", code, stderr)
	}
	if _, ok := f.File("/bare"); !ok || f.Count("DELE") != 0 {
		t.Errorf("the unverified source was removed (%d DELE)", f.Count("DELE"))
	}
	if got, _ := os.ReadFile(dst); sha256.Sum256(got) != sha256.Sum256(data) {
		t.Error("the copy is not whole")
	}
}

// TestGetRemoveSourceFailed: a download that fails (the server cuts every
// attempt) keeps the remote file and exits as it would without the flag.
func TestGetRemoveSourceFailed(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "RETR" {
			s.Reply("550 permission denied")
			return true
		}
		return false
	}
	f.WriteFile("/f", ftptest.RandomBytes(1000), time.Now())
	code, _, stderr := runKeepftp(t, nil, "get", "--no-profile", "--remove-source-files", "-o", filepath.Join(t.TempDir(), "f"), "ftp://"+f.Addr()+"/f")
	if code != ExitNotFound && code != ExitRefused {
		t.Errorf("exit %d, want the failure's own code\n%s", code, stderr)
	}
	if _, ok := f.File("/f"); !ok || f.Count("DELE") != 0 {
		t.Error("a failed download removed its source")
	}
}

// TestPutRemoveSourceFiles: put -r --remove-source-files removes each local
// file after the server's check of its copy, and only then: the server
// holds every file whole, the local files are gone, the folders stay. The
// copy is checked where it was written, the upload's temporary, before
// the rename that gives it its name.
func TestPutRemoveSourceFiles(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true})
	src := filepath.Join(t.TempDir(), "up")
	files := map[string][]byte{"a.bin": ftptest.RandomBytes(40_000), "sub/b.bin": ftptest.RandomBytes(10_000)}
	temps := map[string]string{}
	for rel, data := range files {
		p := filepath.Join(src, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, data, 0o644)
		st, _ := os.Stat(p)
		temps[rel] = resume.UploadPartName("/in/up/"+rel, st.Size(), st.ModTime())
	}
	code, _, stderr := runKeepftp(t, nil, "put", "--no-profile", "-r", "--remove-source-files", src, "ftp://"+srv.Addr()+"/in/")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	log := srv.Commands()
	for rel, data := range files {
		p := "/in/up/" + rel
		got, err := readServerFile(srv, p)
		if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
			t.Errorf("%s on the server: %v or sha256 differs", p, err)
		}
		if stor, hash, rnto := lastIndex(log, "STOR "+temps[rel]), lastHash(log, temps[rel]), lastIndex(log, "RNTO "+p); stor < 0 || hash < stor || rnto < hash {
			t.Errorf("%s: STOR at %d, hash at %d, RNTO at %d: the copy was not checked by hash before its rename", p, stor, hash, rnto)
		}
		if _, err := os.Stat(filepath.Join(src, filepath.FromSlash(rel))); !os.IsNotExist(err) {
			t.Errorf("local %s is still there (%v)", rel, err)
		}
		if !strings.Contains(stderr, "removed: "+filepath.Join(src, filepath.FromSlash(rel))) {
			t.Errorf("stderr does not name the removed %s:\n%s", rel, stderr)
		}
	}
	if st, err := os.Stat(filepath.Join(src, "sub")); err != nil || !st.IsDir() {
		t.Error("a local folder was removed")
	}
}

func readServerFile(srv *testserver.Server, p string) ([]byte, error) {
	f, err := srv.Fs().Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, st.Size())
	_, err = f.Read(b)
	return b, err
}

// TestMirrorRemoveSourceFilesAfterCut: a mirror whose transfer is cut in
// the middle resumes it (REST), verifies it and only then removes its
// source (DELE after the check, in the server's log); a file that was up
// to date at the destination already is skipped, and its source kept.
func TestMirrorRemoveSourceFilesAfterCut(t *testing.T) {
	t.Parallel()
	// The cut resets the data connection half a second after its data
	// starts. At 8 MiB/s (an eighth of a second), one run of the whole
	// suite at once on a loaded machine sent a.bin's second RETR with no
	// REST: the first attempt had saved nothing beyond the 4 KiB a resume
	// fetches again. Why was not recorded (the check below now prints
	// keepftp's stderr); 120 runs under a load of 8 did not repeat it.
	// A reset loses what the client's kernel has not received, so the
	// client is given room.
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{CutAfter: []int64{1 << 20}, RateLimit: 2 << 20}})
	files := map[string][]byte{"a.bin": ftptest.RandomBytes(2 << 20), "d/b.bin": ftptest.RandomBytes(50_000), "same.bin": ftptest.RandomBytes(100)}
	for rel, data := range files {
		srv.WriteFile("/m/"+rel, data)
	}
	dst := t.TempDir()
	// same.bin is at the destination already, with the server's time.
	os.WriteFile(filepath.Join(dst, "same.bin"), files["same.bin"], 0o644)
	st, _ := srv.Fs().Stat("/m/same.bin")
	os.Chtimes(filepath.Join(dst, "same.bin"), st.ModTime(), st.ModTime())

	code, _, stderr := runKeepftp(t, nil, "mirror", "--no-profile", "--retry-max-delay", "10ms", "--remove-source-files", "ftp://"+srv.Addr()+"/m", dst)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := filesUnder(t, dst)
	for rel, data := range files {
		if got[rel] != sha256.Sum256(data) {
			t.Errorf("%s: missing or sha256 differs", rel)
		}
	}
	log := srv.Commands()
	for _, rel := range []string{"a.bin", "d/b.bin"} {
		p := "/m/" + rel
		if _, err := srv.Fs().Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still on the server", p)
		}
		// The last RETR is the resumed one (after a REST), then the check,
		// then the DELE.
		retr, dele := lastIndex(log, "RETR "+p), lastIndex(log, "DELE "+p)
		check := max(lastIndex(log, "MLST "+p), lastIndex(log, "SIZE "+p))
		if retr < 0 || check < retr || dele < check {
			t.Errorf("%s: RETR at %d, check at %d, DELE at %d; want that order:\n%s", p, retr, check, dele, strings.Join(log, "\n"))
		}
	}
	if n := slices.IndexFunc(log, func(l string) bool { return strings.HasPrefix(l, "REST ") }); n < 0 || n > lastIndex(log, "RETR /m/a.bin") {
		t.Errorf("no REST before a.bin's last RETR: it was not cut and resumed:\n%s\nstderr:\n%s", strings.Join(log, "\n"), stderr)
	}
	if _, err := srv.Fs().Stat("/m/same.bin"); err != nil {
		t.Errorf("the up-to-date file's source was removed: %v", err)
	}
	if !strings.Contains(stderr, "2 done") || !strings.Contains(stderr, "1 up to date") || strings.Count(stderr, "removed: ") != 2 {
		t.Errorf("summary:\n%s", stderr)
	}
}
