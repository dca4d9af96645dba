package profile

import (
	"slices"
	"testing"
	"time"

	"github.com/keepftp/keepftp/noop"
)

// One rule for what is learned, whoever looked: a transfer's connection
// and doctor's probes merge into the same profile the same way.
func TestLearnOneRuleForEveryLook(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	yes, no := true, false
	var p Profile

	// A transfer: EPSV works, MLSD not tried, XSHA256 refused, TLS 1.3.
	changed, _ := p.Learn(Seen{Features: &Features{EPSV: &yes, Hashes: []string{"SHA-256"}, HashRefused: []string{"XSHA256"}}, TLS: "TLS 1.3"}, now)
	if !changed || p.Features.MLSD != nil || !*p.Features.EPSV || p.TLS != "TLS 1.3" {
		t.Fatalf("first look: changed %v, %+v", changed, p)
	}
	// The same again: nothing to write.
	if changed, _ := p.Learn(Seen{Features: &Features{EPSV: &yes, Hashes: []string{"SHA-256"}, HashRefused: []string{"XSHA256"}}, TLS: "TLS 1.3"}, now); changed {
		t.Errorf("the same look again changed the profile")
	}
	// Doctor: EPSV refused now, MLSD answered, asks for no hash, measured
	// the idle limit, saw NOOPs answered at once.
	changed, _ = p.Learn(Seen{
		Measured: &Measure{Survived: 30 * time.Second, Failed: time.Minute},
		Noop:     noop.AtOnce, NoopSource: SourceNoopProbe,
		Features: &Features{EPSV: &no, MLSD: &yes, Hashes: []string{"SHA-256"}},
	}, now)
	f := p.Features
	if !changed || *f.EPSV || !*f.MLSD || !slices.Equal(f.HashRefused, []string{"XSHA256"}) || p.TLS != "TLS 1.3" {
		t.Errorf("after doctor: features %+v TLS %q: the refused hash command and the TLS version must stay", *f, p.TLS)
	}
	if p.Idle == nil || p.Idle.Survived != Duration(30*time.Second) || p.Idle.Source != SourceDoctor || p.NoopBehaviour() != noop.AtOnce {
		t.Errorf("after doctor: idle %+v noop %q", p.Idle, p.Noop)
	}
	// A later transfer refuses another hash command: the two add up,
	// sorted; MLSD and EPSV, not tried, stay as doctor found them.
	p.Learn(Seen{Features: &Features{Hashes: []string{"SHA-256"}, HashRefused: []string{"HASH"}}}, now)
	if f := p.Features; !slices.Equal(f.HashRefused, []string{"HASH", "XSHA256"}) || *f.EPSV || !*f.MLSD {
		t.Errorf("after a second transfer: %+v", *f)
	}
	// A connection found dead after 10s: the limit is shorter, said once.
	if changed, shorter := p.Learn(Seen{DeadAfter: 10 * time.Second}, now.Add(time.Hour)); !changed || !shorter || p.Idle.Failed != Duration(10*time.Second) {
		t.Errorf("dead after 10s: changed %v shorter %v idle %+v", changed, shorter, p.Idle)
	}
	if changed, shorter := p.Learn(Seen{DeadAfter: 20 * time.Second}, now.Add(2*time.Hour)); !changed || shorter {
		t.Errorf("dead after 20s (longer than known): changed %v shorter %v, want a confirmation only", changed, shorter)
	}
}
