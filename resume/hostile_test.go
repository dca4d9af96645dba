package resume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
)

// Tests against scripted servers over real TCP that stop short, lie about
// sizes and times, or stall.

var fileTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// tightRetries gives up after 3 attempts in a row without progress, with
// delays too short to matter; MaxAttempts is far above what the tests
// expect, so that a retry count defeated by false progress shows.
var tightRetries = Policy{Retries: 3, MaxAttempts: 40, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

func fakeGet(t *testing.T, f *ftptest.Fake, path string, p Policy) (Outcome, error, *eventLog, string) {
	t.Helper()
	var ev eventLog
	dst := filepath.Join(t.TempDir(), "f")
	out, err := Get(t.Context(), target(t, f.Addr(), path), dst, Options{Timeout: 5 * time.Second, Policy: p, Events: ev.add, Noops: &noop.Registry{}})
	return out, err, &ev, dst
}

func (l *eventLog) reasons(k EventKind) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var rs []string
	for _, e := range l.ev {
		if e.Kind == k {
			rs = append(rs, e.Reason)
		}
	}
	return strings.Join(rs, "\n")
}

// A server that always stops at the same point must use up --retries: the
// overlap re-read at each resume is no progress (issue: 74 RETRs in 60 s
// with --retries 2).
func TestGetServerThatAlwaysStopsShortExhaustsRetries(t *testing.T) {
	t.Parallel()
	data := ftptest.RandomBytes(64 << 10)
	const cut = 40 << 10
	for name, hook := range map[string]func(s *ftptest.FakeSession, verb, arg string) bool{
		"SIZE larger than the data": func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "SIZE" {
				s.Reply(fmt.Sprintf("213 %d", len(data)+1000))
				return true
			}
			return false
		},
		"fixed cut with 426": func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "RETR" {
				rest := s.Rest
				s.Rest = 0
				s.SendDataThen(data[min(rest, cut):cut], "426 connection closed; transfer aborted")
				return true
			}
			return false
		},
		"421 mid-transfer": func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "RETR" {
				rest := s.Rest
				s.Rest = 0
				s.SendDataThen(data[min(rest, cut):cut], "421 service shutting down")
				s.Close()
				return true
			}
			return false
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.WriteFile("/f", data, fileTime)
			f.Hook = hook
			out, err, _, dst := fakeGet(t, f, "/f", tightRetries)
			if !errors.Is(err, ErrGaveUp) {
				t.Fatalf("err = %v, want ErrGaveUp", err)
			}
			// One attempt that moved the data, then 3 without new bytes.
			if n := f.Count("RETR"); n != 4 || out.Attempts != 4 {
				t.Errorf("%d RETRs in %d attempts, want 4: the retry count was reset by re-read bytes", n, out.Attempts)
			}
			if st, err := os.Stat(dst + DefaultPartSuffix); err != nil || st.Size() == 0 {
				t.Errorf("the partial file must stay: %v, %v", st.Size(), err)
			}
			t.Logf("%v; %d RETRs", err, f.Count("RETR"))
		})
	}
}

// A SIZE smaller than the data: the download is not fetched again and
// again; SIZE is distrusted, the rest is fetched, and since nothing else
// can check the size, the result says so.
func TestGetSizeSmallerThanTheDataIsNoEndlessRefetch(t *testing.T) {
	t.Parallel()
	data := ftptest.RandomBytes(64 << 10)
	f := ftptest.StartFake(t)
	f.WriteFile("/f", data, fileTime)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "SIZE" {
			s.Reply(fmt.Sprintf("213 %d", len(data)-10000))
			return true
		}
		return false
	}
	out, err, ev, dst := fakeGet(t, f, "/f", tightRetries)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkFile(t, dst, data)
	if n := f.Count("RETR"); n != 2 {
		t.Errorf("%d RETRs, want 2: the data up to the SIZE, then the rest", n)
	}
	if out.Verified != NotVerified || out.Status != "complete (unverified)" {
		t.Errorf("verified %q status %q: the wrong SIZE checked nothing", out.Verified, out.Status)
	}
	if w := ev.reasons(EventWarning); !strings.Contains(w, "SIZE is not trusted") {
		t.Errorf("warnings %q, want one about SIZE", w)
	}
	if st, _ := os.Stat(dst); !st.ModTime().Equal(fileTime) {
		t.Errorf("mtime %v, want the MDTM's %v", st.ModTime(), fileTime)
	}
}

// Garbled facts are unknown facts: a warning, and the download goes on,
// checked by what remains (issue: retried as a transient fault forever).
func TestGetBadFactsAreUnknownNotFatal(t *testing.T) {
	t.Parallel()
	data := ftptest.RandomBytes(20000)
	for _, tc := range []struct {
		name, verb, reply string
		verified          string
	}{
		{"garbage MDTM", "MDTM", "213 yesterday-ish", "size"},
		{"negative SIZE", "SIZE", "213 -5", NotVerified},
		{"overflowing SIZE", "SIZE", "213 99999999999999999999", NotVerified},
		{"garbage SIZE", "SIZE", "213 lots", NotVerified},
		{"year-9999 MDTM", "MDTM", "213 99991231235959", "size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.WriteFile("/f", data, fileTime)
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == tc.verb {
					s.Reply(tc.reply)
					return true
				}
				return false
			}
			before := time.Now().Add(-time.Minute)
			out, err, ev, dst := fakeGet(t, f, "/f", tightRetries)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			checkFile(t, dst, data)
			if n := f.Count("RETR"); n != 1 || out.Attempts != 1 {
				t.Errorf("%d RETRs in %d attempts, want 1", n, out.Attempts)
			}
			if out.Verified != tc.verified {
				t.Errorf("verified %q, want %q", out.Verified, tc.verified)
			}
			if w := ev.reasons(EventWarning); !strings.Contains(w, "unusable") && !strings.Contains(w, "malformed") && !strings.Contains(w, "out of range") {
				t.Errorf("warnings %q, want one about the %s", w, tc.verb)
			}
			st, _ := os.Stat(dst)
			switch {
			case tc.verb == "MDTM" && st.ModTime().Before(before):
				t.Errorf("mtime %v from an unusable MDTM, want the time of the download", st.ModTime())
			case tc.verb == "SIZE" && !st.ModTime().Equal(fileTime):
				t.Errorf("mtime %v, want the MDTM's %v", st.ModTime(), fileTime)
			}
		})
	}
}

// A server without SIZE, MDTM or MLST cuts the data short and says 226:
// nothing can tell, so the result must not claim a size check.
func TestGetWithoutAnyFactIsReportedUnverified(t *testing.T) {
	t.Parallel()
	data := ftptest.RandomBytes(50000)
	f := ftptest.StartFake(t)
	f.WriteFile("/f", data, fileTime)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch verb {
		case "SIZE", "MDTM":
			s.Reply("502 not implemented")
			return true
		case "RETR":
			s.SendData(data[:20000], "226 transfer complete")
			return true
		}
		return false
	}
	out, err, ev, _ := fakeGet(t, f, "/f", tightRetries)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if out.Verified != NotVerified || out.Status != "complete (unverified)" || out.Size != 20000 {
		t.Errorf("%+v: want 20000 bytes, complete (unverified), verified by nothing", out)
	}
	if w := ev.reasons(EventWarning); !strings.Contains(w, "unverified") {
		t.Errorf("warnings %q, want one saying unverified", w)
	}
	if ev.count(EventVerified) != 0 {
		t.Errorf("a verified event for a file nothing checked")
	}
}

// Ctrl-C while the overlap of a resume is read from a server that sends
// nothing: Get returns at once, not after the 60 s timeout.
func TestGetCancelDuringOverlapReadIsPrompt(t *testing.T) {
	t.Parallel()
	data := ftptest.RandomBytes(64 << 10)
	f := ftptest.StartFake(t)
	f.WriteFile("/f", data, fileTime)
	retr := make(chan struct{}, 1)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "RETR" {
			d, err := s.Data()
			if err != nil {
				return false
			}
			s.Reply("150 here it comes")
			retr <- struct{}{}
			ftptest.DiscardData(d) // holds the data connection, silent, until the client closes it
			return true
		}
		return false
	}
	dir := t.TempDir()
	dst := filepath.Join(dir, "f")
	tg := target(t, f.Addr(), "/f")
	os.WriteFile(dst+DefaultPartSuffix, data[:30000], 0o644)
	if err := writeState(dst+DefaultPartSuffix+stateSuffix, "", state{URL: tg.String(), Remote: Remote{Size: int64(len(data)), ModTime: fileTime}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-retr
		cancel()
	}()
	const timeout = 60 * time.Second
	start := time.Now()
	_, err := Get(ctx, tg, dst, Options{Timeout: timeout, Policy: tightRetries, Noops: &noop.Registry{}})
	took := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if took > timeout/4 {
		t.Errorf("Get took %v after the cancel: the overlap read ignored it", took)
	}
	if st, err := os.Stat(dst + DefaultPartSuffix); err != nil || st.Size() != 30000 {
		t.Errorf("the partial file must stay as it was: %v", err)
	}
	t.Logf("returned %v after the RETR", took)
}

// An upload to a server without SIZE (and no hash) stands, reported
// unverified: it neither fails nor claims a size check.
func TestPutWithoutSizeIsUnverified(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "SIZE" {
			s.Reply("502 not implemented")
			return true
		}
		return false
	}
	data := ftptest.RandomBytes(30000)
	src := filepath.Join(t.TempDir(), "up")
	os.WriteFile(src, data, 0o644)
	var ev eventLog
	out, err := Put(t.Context(), src, target(t, f.Addr(), "/up"), Options{Timeout: 5 * time.Second, Policy: tightRetries, Events: ev.add, Noops: &noop.Registry{}})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, _ := f.File("/up"); !bytes.Equal(got.Data, data) {
		t.Errorf("the server holds %d bytes, want the %d sent", len(got.Data), len(data))
	}
	if out.Verified != NotVerified || out.Status != "complete (unverified)" || ev.count(EventVerified) != 0 {
		t.Errorf("%+v: want complete (unverified), verified by nothing", out)
	}
}

// The same SIZE below the data, to a stream (-o -): the rest comes in the
// next attempt, once, and the result says it is unverified.
func TestGetStreamSizeSmallerThanTheData(t *testing.T) {
	t.Parallel()
	data := ftptest.RandomBytes(64 << 10)
	f := ftptest.StartFake(t)
	f.WriteFile("/f", data, fileTime)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "SIZE" {
			s.Reply(fmt.Sprintf("213 %d", len(data)-10000))
			return true
		}
		return false
	}
	var buf bytes.Buffer
	out, err := getStream(t.Context(), target(t, f.Addr(), "/f"), &buf, Options{Timeout: 5 * time.Second, Policy: tightRetries, Noops: &noop.Registry{}})
	if err != nil {
		t.Fatalf("getStream: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), data) || f.Count("RETR") != 2 || out.Verified != NotVerified {
		t.Errorf("%d bytes (want %d) in %d RETRs (want 2), verified %q", buf.Len(), len(data), f.Count("RETR"), out.Verified)
	}
}

// A file named like a state file's temporary (a remote "data.part.keepftp.tmp"
// mirrored beside "data.part.keepftp") is never written, moved or removed
// by the state's update, with or without a directory of temporaries.
func TestWriteStateLeavesLookalikeTemporaries(t *testing.T) {
	t.Parallel()
	for _, tmpDir := range []string{"", t.TempDir()} {
		dir := t.TempDir()
		name := filepath.Join(dir, "data.part.keepftp")
		lookalike := name + ".tmp"
		if err := os.WriteFile(lookalike, []byte("a remote file"), 0o644); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := writeState(name, tmpDir, state{URL: "ftp://h/data.part.keepftp"}); err != nil {
				t.Fatalf("writeState(tmp %q): %v", tmpDir, err)
			}
		}
		if b, err := os.ReadFile(lookalike); err != nil || string(b) != "a remote file" {
			t.Errorf("tmp %q: the look-alike holds %q, %v; want it untouched", tmpDir, b, err)
		}
		if s, err := readState(name); err != nil || s.URL != "ftp://h/data.part.keepftp" {
			t.Errorf("tmp %q: state %+v, %v", tmpDir, s, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 2 {
			t.Errorf("tmp %q: %d files beside the state, want the state and the look-alike", tmpDir, len(ents))
		}
	}
}
