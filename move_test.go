package keepftp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// moveClient is testClient with Options.RemoveSource.
func moveClient(t *testing.T) (*Client, *events) {
	c, ev := testClient(t, 1)
	c.o.RemoveSource = true
	return c, ev
}

// indexOf is the position of the first log line equal to cmd, or -1.
func indexOf(log []string, cmd string) int { return slices.Index(log, cmd) }

// lastIndexOf is the position of the last log line equal to cmd, or -1.
func lastIndexOf(log []string, cmd string) int {
	for i := len(log) - 1; i >= 0; i-- {
		if log[i] == cmd {
			return i
		}
	}
	return -1
}

// A verified download removes the remote file, with DELE after the check
// that verified it (the hash, here), and says so in an event.
func TestRemoveSourceAfterVerifiedGet(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.Hash = true
	data := ftptest.RandomBytes(50_000)
	f.WriteFile("/d/f.bin", data, mtime)
	c, ev := moveClient(t)
	dst := filepath.Join(t.TempDir(), "f.bin")
	out, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/d/f.bin", dst)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) || out.Verified != "SHA-256" {
		t.Fatalf("copy wrong or not checked by hash (verified %q)", out.Verified)
	}
	if _, ok := f.File("/d/f.bin"); ok {
		t.Error("the remote file is still there")
	}
	log := f.Log()
	hash, dele := lastIndexOf(log, "HASH /d/f.bin"), indexOf(log, "DELE /d/f.bin")
	if hash < 0 || dele < hash || indexOf(log, "RETR /d/f.bin") > dele {
		t.Errorf("server log %q: want RETR, then HASH, then DELE", log)
	}
	rm := ev.kinds(EventRemoved)
	if len(rm) != 1 || !strings.Contains(rm[0].Reason, "remote source") || !strings.Contains(rm[0].Reason, "SHA-256") {
		t.Errorf("removed events %+v, want one naming the remote source and the hash", rm)
	}
}

// A download that nothing could verify (no SIZE, no MDTM, no hash) keeps
// the remote file, with a warning; the copy itself succeeds as before.
func TestRemoveSourceKeepsUnverified(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "SIZE" || verb == "MDTM" {
			s.Reply("502 not implemented")
			return true
		}
		return false
	}
	f.WriteFile("/bare", ftptest.RandomBytes(20_000), mtime)
	c, ev := moveClient(t)
	out, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/bare", filepath.Join(t.TempDir(), "bare"))
	if err != nil || out.Verified != NotVerified {
		t.Fatalf("Get: %v, verified %q; want success, unverified", err, out.Verified)
	}
	if _, ok := f.File("/bare"); !ok || f.Count("DELE") != 0 {
		t.Errorf("the unverified source was removed (DELE sent %d times)", f.Count("DELE"))
	}
	if len(ev.kinds(EventRemoved)) != 0 || !hasWarning(ev, "nothing verified the copy") {
		t.Errorf("want no removed event and a warning that the source is kept: %+v", ev.ev)
	}
}

func hasWarning(ev *events, s string) bool {
	for _, e := range ev.kinds(EventWarning) {
		if strings.Contains(e.Reason, s) {
			return true
		}
	}
	return false
}

// A download that fails keeps the remote file: no DELE.
func TestRemoveSourceKeepsFailed(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "RETR" {
			s.Reply("550 permission denied")
			return true
		}
		return false
	}
	f.WriteFile("/f", ftptest.RandomBytes(1000), mtime)
	c, ev := moveClient(t)
	if _, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/f", filepath.Join(t.TempDir(), "f")); err == nil {
		t.Fatal("Get succeeded")
	}
	if _, ok := f.File("/f"); !ok || f.Count("DELE") != 0 || len(ev.kinds(EventRemoved)) != 0 {
		t.Errorf("a failed download removed its source (DELE %d)", f.Count("DELE"))
	}
}

// A download cut in the middle is resumed, verified, and only then its
// source removed: the DELE comes after the second RETR and the check.
func TestRemoveSourceAfterCutAndRetry(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	data := ftptest.RandomBytes(200_000)
	var retrs atomic.Int32
	dst := filepath.Join(t.TempDir(), "big")
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "RETR" && retrs.Add(1) == 1 {
			d, err := s.Data()
			if err != nil {
				return false
			}
			s.Reply("150 here it comes")
			d.Write(data[:80_000])
			d.Close()
			// The connection dies with the data half sent, once the client
			// has saved that half: closing at once may beat its reads, and
			// then there is nothing to resume from.
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if st, err := os.Stat(dst + ".part"); err == nil && st.Size() >= 80_000 {
					break
				}
			}
			s.Close()
			return true
		}
		return false
	}
	f.WriteFile("/big", data, mtime)
	c, ev := moveClient(t)
	out, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/big", dst)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) || out.Attempts < 2 || out.Verified != "size" {
		t.Fatalf("copy wrong, or %d attempt(s), verified %q", out.Attempts, out.Verified)
	}
	log := f.Log()
	rest := slices.IndexFunc(log, func(l string) bool { return strings.HasPrefix(l, "REST ") })
	dele := indexOf(log, "DELE /big")
	lastRetr, lastSize := lastIndexOf(log, "RETR /big"), lastIndexOf(log, "SIZE /big")
	if rest < 0 || lastRetr < rest || lastSize < lastRetr || dele < lastSize {
		t.Errorf("server log %q: want REST, RETR, SIZE (the check), then DELE", log)
	}
	if _, ok := f.File("/big"); ok || len(ev.kinds(EventRemoved)) != 1 {
		t.Error("the source of the resumed, verified download was not removed")
	}
}

// An upload removes the local file after the server's check of it, never
// before: at the SIZE that checks it, the local file is still there.
func TestRemoveSourceAfterVerifiedPut(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	src := filepath.Join(t.TempDir(), "up.bin")
	data := ftptest.RandomBytes(30_000)
	os.WriteFile(src, data, 0o644)
	var presentAtCheck atomic.Bool
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "SIZE" && f.Count("STOR") > 0 {
			_, err := os.Stat(src)
			presentAtCheck.Store(err == nil)
		}
		return false
	}
	c, ev := moveClient(t)
	out, err := c.Put(t.Context(), src, "ftp://"+f.Addr()+"/up.bin")
	if err != nil || out.Verified != "size" {
		t.Fatalf("Put: %v, verified %q", err, out.Verified)
	}
	if ff, ok := f.File("/up.bin"); !ok || !bytes.Equal(ff.Data, data) {
		t.Fatal("the server does not have the file")
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the local source is still there (%v)", err)
	}
	if !presentAtCheck.Load() {
		t.Error("the local file was gone when the server's size was checked")
	}
	if rm := ev.kinds(EventRemoved); len(rm) != 1 || !strings.Contains(rm[0].Reason, "local source") {
		t.Errorf("removed events %+v", rm)
	}
}

// An upload whose local file changed while it was sent (here its time;
// the bytes verified are the same) keeps the local file.
func TestRemoveSourceKeepsChangedUpload(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	src := filepath.Join(t.TempDir(), "up.bin")
	os.WriteFile(src, ftptest.RandomBytes(10_000), 0o644)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "STOR" {
			later := time.Now().Add(time.Hour)
			os.Chtimes(src, later, later)
		}
		return false
	}
	c, ev := moveClient(t)
	if _, err := c.Put(t.Context(), src, "ftp://"+f.Addr()+"/up.bin"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("the changed local source was removed: %v", err)
	}
	if !hasWarning(ev, "changed while it was uploaded") {
		t.Errorf("no warning that it changed: %+v", ev.ev)
	}
}

// A mirror removes the sources of the files it copied and verified, and
// not those it skipped as up to date: nothing compared those in this run.
func TestRemoveSourceMirrorSkipsUpToDate(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.MLST = true
	f.WriteFile("/m/old", ftptest.RandomBytes(1000), mtime)
	f.WriteFile("/m/sub/new", ftptest.RandomBytes(2000), mtime)
	dir := t.TempDir()
	c, _ := testClient(t, 1)
	if _, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/m/old", filepath.Join(dir, "old")); err != nil {
		t.Fatal(err)
	}
	mc, ev := moveClient(t)
	results, err := mc.Mirror(t.Context(), "ftp://"+f.Addr()+"/m", dir)
	if err != nil {
		t.Fatal(err)
	}
	removed := map[string]bool{}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.URL, r.Err)
		}
		removed[filepath.Base(r.Local)] = r.Removed
		if r.Skipped && r.Removed {
			t.Errorf("%s: skipped and removed", r.URL)
		}
	}
	if !removed["new"] || removed["old"] {
		t.Errorf("removed %v, want new only", removed)
	}
	if _, ok := f.File("/m/old"); !ok {
		t.Error("the up-to-date file's source was removed")
	}
	if _, ok := f.File("/m/sub/new"); ok {
		t.Error("the copied file's source is still there")
	}
	if n := len(ev.kinds(EventRemoved)); n != 1 || f.Count("DELE") != 1 {
		t.Errorf("%d removed events, %d DELEs; want 1 each", n, f.Count("DELE"))
	}
}

// A DELE the server refuses leaves the copy in place and makes the result
// an error that says the source was not removed.
func TestRemoveSourceRefusedIsAnError(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "DELE" {
			s.Reply("550 permission denied")
			return true
		}
		return false
	}
	data := ftptest.RandomBytes(5000)
	f.WriteFile("/f", data, mtime)
	c, _ := moveClient(t)
	dst := filepath.Join(t.TempDir(), "f")
	_, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/f", dst)
	if err == nil || !errors.Is(err, ErrNotRemoved) || Classify(err) != Permanent {
		t.Fatalf("err = %v (class %v), want a permanent error saying the source was not removed", err, Classify(err))
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Error("the verified copy was not kept")
	}
}
