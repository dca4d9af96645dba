package doctor

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

// TestDoctorRemembers: a doctor run remembers what it found (here, a
// server that aborts transfers on NOOP); an idle limit remembered before
// is reported without the idle probe; --show prints the profile and
// --forget removes it; NoProfile neither reads nor writes.
func TestDoctorRemembers(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Noop: testserver.NoopAborts, EnableHASH: true})
	dir := t.TempDir()
	s, _ := profile.Open(dir)
	k := profile.Key{Addr: srv.Addr()}
	s.Update(k, func(p *profile.Profile) { p.LearnIdle(1750*time.Millisecond, 2*time.Second, time.Now()) })

	o := quick
	o.NoProfile = true
	r, err := Run(t.Context(), "ftp://"+srv.Addr()+"/", o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Idle != nil || r.Profile != "" {
		t.Errorf("NoProfile: idle %+v, profile %q", r.Idle, r.Profile)
	}
	if p, _, _ := s.Load(k); p.Noop != "" {
		t.Errorf("NoProfile: the profile was written: %+v", p)
	}

	o = quick
	o.ProfileDir = dir
	r, err = Run(t.Context(), "ftp://"+srv.Addr()+"/", o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Idle == nil || time.Duration(r.Idle.Survived) != 1750*time.Millisecond || !strings.HasPrefix(r.Idle.How, "remembered") {
		t.Errorf("remembered idle limit not reported: %+v", r.Idle)
	}
	if time.Duration(r.Recommend.Keepalive) != 800*time.Millisecond {
		t.Errorf("recommended keepalive %v, want 800ms from the remembered limit", r.Recommend.Keepalive)
	}
	if r.Profile != s.Path(k) {
		t.Errorf("report names profile %q, want %q", r.Profile, s.Path(k))
	}
	p, _, err := s.Load(k)
	if err != nil || p.NoopBehaviour() != noop.Aborts || p.Idle.Source != profile.SourceDoctor || p.Features == nil || !*p.Features.EPSV || !*p.Features.MLSD || len(p.Features.Hashes) == 0 {
		t.Errorf("remembered %+v (%v)", p, err)
	}

	var show bytes.Buffer
	if found, err := ShowProfile(&show, srv.Addr(), "", dir, false); !found || err != nil {
		t.Fatalf("ShowProfile: %v, %v", found, err)
	}
	for _, want := range []string{"between 1.75s and 2s", "aborts the transfer (no NOOPs during transfers; from doctor's NOOP probe, seen once", s.Path(k)} {
		if !strings.Contains(show.String(), want) {
			t.Errorf("--show lacks %q:\n%s", want, show.String())
		}
	}
	if found, err := ForgetProfile(srv.Addr(), "anonymous", dir); !found || err != nil {
		t.Errorf("ForgetProfile: %v, %v", found, err)
	}
	if found, err := ShowProfile(&show, srv.Addr(), "", dir, true); found || err != nil {
		t.Errorf("ShowProfile after ForgetProfile: %v, %v", found, err)
	}
}
