package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestSummaryCountsUnverified: a batch of two files, one of which nothing
// can check (the server gives no SIZE, no MDTM, no hash for it), is
// summed up as one done and one unverified, in text and in the --json
// summary line, never as two done.
func TestSummaryCountsUnverified(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	checked, bare := ftptest.RandomBytes(30000), ftptest.RandomBytes(20000)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if (verb == "SIZE" || verb == "MDTM") && arg == "/bare" {
			s.Reply("502 not implemented")
			return true
		}
		return false
	}
	f.WriteFile("/checked", checked, time.Now())
	f.WriteFile("/bare", bare, time.Now())
	urls := []string{"ftp://" + f.Addr() + "/checked", "ftp://" + f.Addr() + "/bare"}

	code, _, stderr := runKeepftp(t, nil, append([]string{"get", "--timeout", "5s", "-o", t.TempDir()}, urls...)...)
	if code != ExitOK || !strings.Contains(stderr, "2 files: 1 done, 1 unverified, 0 up to date, 0 failed; 50000 bytes") {
		t.Errorf("exit %d, want 0 and a summary of 1 done and 1 unverified:\n%s", code, stderr)
	}

	code, stdout, stderr := runKeepftp(t, nil, append([]string{"get", "--json", "--timeout", "5s", "-o", t.TempDir()}, urls...)...)
	if code != ExitOK {
		t.Fatalf("get --json: exit %d\n%s", code, stderr)
	}
	var last map[string]any
	sc := bufio.NewScanner(bytes.NewReader([]byte(stdout)))
	for sc.Scan() {
		last = nil
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		// The file nothing checked: done as "complete (unverified)", and
		// no verified event.
		if url, _ := last["url"].(string); strings.HasSuffix(url, "/bare") {
			switch last["event"] {
			case "verified":
				t.Errorf("a verified event for the file nothing checked: %s", sc.Text())
			case "done":
				if last["status"] != "complete (unverified)" {
					t.Errorf("done event %s, want status complete (unverified)", sc.Text())
				}
			}
		}
	}
	want := map[string]float64{"files": 2, "done": 1, "unverified": 1, "up_to_date": 0, "failed": 0, "bytes": 50000}
	if last["event"] != "summary" {
		t.Fatalf("last JSON line %v, want the summary", last)
	}
	for k, v := range want {
		if last[k] != v {
			t.Errorf("summary %s = %v, want %v (%v)", k, last[k], v, last)
		}
	}
}
