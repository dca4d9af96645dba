package keepftp

import (
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
)

// TestFeatWinsOverLearnedNoMLSD: a profile that learned "no MLSD" (the
// server once offered no MLST) does not make a mirror list with LIST when
// FEAT now offers MLST: what the server says now wins, the mirror uses
// MLSD (this server's LIST is garbage, so LIST would fail it), and the
// profile is corrected.
func TestFeatWinsOverLearnedNoMLSD(t *testing.T) {
	f := ftptest.StartFake(t)
	f.MLST = true
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "LIST" {
			return false
		}
		s.SendData([]byte("this is no listing\r\n"), "")
		return true
	}
	now := time.Now().Add(-time.Hour)
	f.WriteFile("/t/a", []byte("alpha"), now)
	f.WriteFile("/t/sub/b", []byte("beta"), now)
	dir := t.TempDir()
	s, err := profile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := profile.Key{Addr: f.Addr()}
	if err := s.Update(key, func(p *profile.Profile) { p.Features = &profile.Features{MLSD: new(bool)} }); err != nil {
		t.Fatal(err)
	}
	c := NewClient(Options{ProfileDir: dir})
	res, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/t", t.TempDir())
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Errorf("%s: %v", r.URL, r.Err)
		}
	}
	if len(res) != 2 {
		t.Errorf("%d results, want 2", len(res))
	}
	if f.Count("MLSD") != 2 || f.Count("LIST") != 0 {
		t.Errorf("MLSD %d, LIST %d; want the 2 listings by MLSD", f.Count("MLSD"), f.Count("LIST"))
	}
	p, _, err := s.Load(key)
	if err != nil || p.Features == nil || p.Features.MLSD == nil || !*p.Features.MLSD {
		t.Errorf("profile features %+v (%v): want MLSD corrected to yes", p.Features, err)
	}
}
