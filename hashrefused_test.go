package keepftp

import (
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
)

// TestHashRefusedRemembered: a server that announces HASH but answers it
// 502 is asked once on a connection, not once per file, and a later
// Client with the same profile does not ask at all; the files are
// reported verified by size, not by a hash.
func TestHashRefusedRemembered(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.Hash = true
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "HASH" {
			s.Reply("502 HASH not implemented")
			return true
		}
		return false
	}
	jobs := make([]Job, 0, 3)
	for _, name := range []string{"a", "b", "c"} {
		f.WriteFile("/"+name, ftptest.RandomBytes(1000), time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
		jobs = append(jobs, Job{URL: "ftp://" + f.Addr() + "/" + name})
	}
	dir := t.TempDir()
	for run, want := range []int{1, 0} {
		var log protoLog
		c := NewClient(Options{ProtocolLog: log.logf, ProfileDir: dir, Parallel: 1})
		f.ResetCounts()
		for _, r := range c.GetAll(t.Context(), jobs, t.TempDir()) {
			if r.Err != nil {
				t.Fatalf("run %d: %s: %v", run, r.URL, r.Err)
			}
			if r.Outcome.Verified != "size" {
				t.Errorf("run %d: %s verified by %q, want size", run, r.URL, r.Outcome.Verified)
			}
		}
		c.Close()
		if n := f.Count("HASH"); n != want {
			t.Errorf("run %d: the server got %d HASH commands, want %d\n%s", run, n, want, log.String())
		}
		if n, logins := f.CountPrefix("OPTS HASH"), f.Count("USER"); n > want || logins != 1 {
			t.Errorf("run %d: %d OPTS HASH over %d connections, want at most %d over 1", run, n, logins, want)
		}
	}
	s, _ := profile.Open(dir)
	p, _, err := s.Load(profile.Key{Addr: f.Addr()})
	if err != nil || p.Features == nil || len(p.Features.HashRefused) != 1 || p.Features.HashRefused[0] != "HASH" {
		t.Errorf("profile features %+v (%v), want HASH refused", p.Features, err)
	}
}
