package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// Learned server profiles, end to end: doctor --idle-probe through a
// middlebox that drops control flows idle for 1.5 s learns the limit (its
// first gap, 1 s, survives), and the next plain get --timeout 7s (whose
// default keepalive, 1.75 s, is too long for that path) keeps the control
// flow alive and needs one attempt. The same get without the profile loses the flow and needs a
// second attempt: the profile is what makes the difference.

const (
	profIdle    = 1500 * time.Millisecond
	profSize    = 5 << 19
	profRate    = 1 << 20 // a 2.5 s download
	profTimeout = "7s"
)

// profileSetup is a testserver holding big.bin behind a middlebox that
// blackholes control flows silent for profIdle. Downloads are slowed to
// profRate only once slow is called, so that doctor's probes stay short.
func profileSetup(t *testing.T) (mb *testserver.Middlebox, slow func(), want [32]byte) {
	t.Helper()
	data := ftptest.RandomBytes(profSize)
	srv := ftptest.StartServer(t, testserver.Options{})
	if err := srv.WriteFile("/big.bin", data); err != nil {
		t.Fatal(err)
	}
	mb = ftptest.StartMiddlebox(t, testserver.MiddleboxOptions{Target: srv.Addr(), IdleTimeout: profIdle, Mode: testserver.ExpireBlackhole})
	return mb, func() { srv.SetFaults(testserver.Faults{RateLimit: profRate}) }, sha256.Sum256(data)
}

// attempts counts the attempts of a get --json run (one more than its
// retry events; an attempt that only verifies data already here has no
// start event) and returns the final status.
func attempts(t *testing.T, jsonOut string) (n int, status string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(jsonOut))
	for sc.Scan() {
		var e struct {
			Kind   string `json:"event"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not a JSON event: %q", sc.Text())
		}
		switch e.Kind {
		case "retry":
			n++
		case "done":
			status = e.Status
		}
	}
	return n + 1, status
}

func checkFile(t *testing.T, name string, want [32]byte) {
	t.Helper()
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != want {
		t.Fatalf("sha256 differs (%d bytes)", len(got))
	}
}

func TestProfileIdleLimitLearnedByDoctor(t *testing.T) {
	t.Parallel()
	t.Run("learned", func(t *testing.T) {
		t.Parallel()
		mb, slow, want := profileSetup(t)
		cache := filepath.Join(t.TempDir(), "cache")
		url := "ftp://" + mb.Addr() + "/big.bin"

		out, stderr, code := keepftpIn(t, cache, "doctor", "--idle-probe", "--max-idle", "4s", "--timeout", "2s", "--json", url)
		if code != 0 {
			t.Fatalf("doctor: exit %d\n%s", code, stderr)
		}
		var r struct {
			Idle struct {
				Survived, Failed string
			} `json:"idle"`
			Profile string `json:"profile"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("doctor --json: %v\n%s", err, out)
		}
		survived, _ := time.ParseDuration(r.Idle.Survived)
		failed, _ := time.ParseDuration(r.Idle.Failed)
		// A gap of exactly the limit races the middlebox's timer: it may
		// count as survived.
		if survived <= 0 || survived > profIdle || failed <= survived || failed > 2*profIdle {
			t.Fatalf("doctor measured survived %v, failed %v; the middlebox drops flows idle for %v", survived, failed, profIdle)
		}
		if !strings.HasPrefix(r.Profile, cache) {
			t.Fatalf("profile remembered in %q, want under %s", r.Profile, cache)
		}
		show, stderr, code := keepftpIn(t, cache, "doctor", "--show", url)
		if code != 0 || !strings.Contains(show, "control idle limit:   between "+survived.String()+" and "+failed.String()) {
			t.Fatalf("doctor --show: exit %d\n%s%s", code, show, stderr)
		}
		t.Logf("doctor: survived %v, failed %v\n%s", survived, failed, show)

		slow()
		before := mb.Stats()
		dst := filepath.Join(t.TempDir(), "big.bin")
		out, stderr, code = keepftpIn(t, cache, "get", "--timeout", profTimeout, "--json", "-o", dst, url)
		if code != 0 {
			t.Fatalf("get: exit %d\n%s\n%s", code, out, stderr)
		}
		checkFile(t, dst, want)
		n, status := attempts(t, out)
		after := mb.Stats()
		if n != 1 || status != "complete" {
			t.Errorf("get needed %d attempts, status %q; want 1, complete\n%s", n, status, out)
		}
		if after.Expired != before.Expired || after.Sessions-before.Sessions != 1 {
			t.Errorf("during get the middlebox expired %d control flows over %d sessions; want none over 1",
				after.Expired-before.Expired, after.Sessions-before.Sessions)
		}

		out, _, code = keepftpIn(t, cache, "doctor", "--forget", url)
		if code != 0 || !strings.Contains(out, "forgot") {
			t.Errorf("doctor --forget: exit %d, %q", code, out)
		}
		if _, err := os.Stat(r.Profile); !os.IsNotExist(err) {
			t.Errorf("the profile is still there after --forget: %v", err)
		}
		if out, _, _ := keepftpIn(t, cache, "doctor", "--show", url); !strings.Contains(out, "nothing learned") {
			t.Errorf("doctor --show after --forget: %q", out)
		}
	})
	t.Run("without profile", func(t *testing.T) {
		t.Parallel()
		mb, slow, want := profileSetup(t)
		slow()
		cache := filepath.Join(t.TempDir(), "cache")
		dst := filepath.Join(t.TempDir(), "big.bin")
		out, stderr, code := keepftpIn(t, cache, "get", "--timeout", profTimeout, "--json", "-o", dst, "ftp://"+mb.Addr()+"/big.bin")
		if code != 0 {
			t.Fatalf("get: exit %d\n%s\n%s", code, out, stderr)
		}
		checkFile(t, dst, want)
		n, status := attempts(t, out)
		if n != 2 || status != "complete (verified)" || mb.Stats().Expired == 0 {
			t.Errorf("%d attempts (%s), %d expired flows; want the final reply lost with the control flow, and a second attempt that verifies\n%s\n%s", n, status, mb.Stats().Expired, out, stderr)
		}
		// The dead control connection taught this run the path's limit.
		show, _, _ := keepftpIn(t, cache, "doctor", "--show", "ftp://"+mb.Addr()+"/")
		if !strings.Contains(show, "control idle limit:   at most ") || !strings.Contains(show, "found dead after a silence") {
			t.Errorf("after the failed attempt, the profile says:\n%s\n%s", show, stderr)
		}
		t.Logf("without a profile: %d attempts (%s)\n%s", n, status, show)
	})
}

// TestNoProfileFlag: get --no-profile leaves the cache alone; a plain get
// remembers the server.
func TestNoProfileFlag(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/f", []byte("data"))
	cache := filepath.Join(t.TempDir(), "cache")
	url := "ftp://" + srv.Addr() + "/f"
	if _, stderr, code := keepftpIn(t, cache, "get", "--no-profile", "-o", filepath.Join(t.TempDir(), "f"), url); code != 0 {
		t.Fatalf("get --no-profile: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(cache, "keepftp")); !os.IsNotExist(err) {
		t.Fatalf("get --no-profile touched the cache: %v", err)
	}
	if _, stderr, code := keepftpIn(t, cache, "get", "-o", filepath.Join(t.TempDir(), "f"), url); code != 0 {
		t.Fatalf("get: exit %d\n%s", code, stderr)
	}
	if files, _ := filepath.Glob(filepath.Join(cache, "keepftp", "*.json")); len(files) != 1 {
		t.Errorf("profiles after a plain get: %v, want one", files)
	}
}
