package profile

import (
	"bytes"
	"slices"
	"strings"
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

// The facts a transfer's connection learns about the server beside its
// features: whether it takes commands written together (pipelining),
// where it answers a command written at the end of a download's data
// (after_final), and the TLS key exchange group. A look that did not try
// one keeps what was known; one that saw it otherwise replaces it; the
// text for a person says each.
func TestLearnConnectionFacts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	yes, no := true, false
	var p Profile
	changed, _ := p.Learn(Seen{Features: &Features{Pipelining: &no, AfterFinal: &yes}, TLS: "TLS 1.3", TLSGroup: "CurveP256"}, now)
	if !changed || p.Features.Pipelining == nil || *p.Features.Pipelining || p.Features.AfterFinal == nil || !*p.Features.AfterFinal || p.TLSGroup != "CurveP256" {
		t.Fatalf("first look: changed %v, features %+v, group %q", changed, p.Features, p.TLSGroup)
	}
	var text bytes.Buffer
	p.WriteText(&text)
	for _, want := range []string{
		"commands together:    no\n",
		"command at data end:  answered after the final reply\n",
		"TLS:                  TLS 1.3, key exchange CurveP256\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}

	// A later connection that tried neither, with no TLS group: nothing
	// to write, and what was known stays.
	if changed, _ := p.Learn(Seen{Features: &Features{Pipelining: nil, AfterFinal: nil}, TLS: "TLS 1.3"}, now); changed {
		t.Errorf("a look that tried nothing new changed the profile: %+v", p.Features)
	}
	if *p.Features.Pipelining || !*p.Features.AfterFinal || p.TLSGroup != "CurveP256" {
		t.Errorf("kept facts changed: features %+v, group %q", p.Features, p.TLSGroup)
	}

	// The server now takes commands together, answers at once, and the
	// handshake settled on another group: each replaces what was known.
	changed, _ = p.Learn(Seen{Features: &Features{Pipelining: &yes, AfterFinal: &no}, TLSGroup: "X25519"}, now)
	if !changed || !*p.Features.Pipelining || *p.Features.AfterFinal || p.TLSGroup != "X25519" {
		t.Errorf("second look: changed %v, features %+v, group %q", changed, p.Features, p.TLSGroup)
	}
	text.Reset()
	p.WriteText(&text)
	for _, want := range []string{"commands together:    yes\n", "command at data end:  answered at once\n", "key exchange X25519\n"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	p.Features.AfterFinal = nil
	text.Reset()
	p.WriteText(&text)
	if !strings.Contains(text.String(), "command at data end:  not known\n") {
		t.Errorf("text with after_final unknown:\n%s", text.String())
	}
}

// A clone shares nothing a caller may change in place: the Client hands
// out clones of the profiles it holds.
func TestCloneSharesNothing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	yes := true
	var p Profile
	p.LearnDead(10*time.Second, now)
	p.LearnNoop(noop.Aborts, SourceTransfers, now)
	p.LearnConns(2, true, now)
	p.Features = &Features{MLSD: &yes, Hashes: []string{"SHA-256"}, HashRefused: []string{"XSHA256"}}
	c := p.Clone()
	c.Idle.Failed = Duration(time.Second)
	c.NoopEvidence.Seen = 9
	c.Conns.Max = 7
	c.Features.Hashes[0] = "MD5"
	c.Features.HashRefused[0] = "HASH"
	c.Features.RestStream = true
	if p.Idle.Failed != Duration(10*time.Second) || p.NoopEvidence.Seen != 1 || p.Conns.Max != 2 ||
		p.Features.Hashes[0] != "SHA-256" || p.Features.HashRefused[0] != "XSHA256" || p.Features.RestStream {
		t.Errorf("changing the clone changed the original: idle %+v, noop %+v, conns %+v, features %+v", p.Idle, p.NoopEvidence, p.Conns, p.Features)
	}
	if z := (Profile{}).Clone(); z.Idle != nil || z.NoopEvidence != nil || z.Conns != nil || z.Features != nil {
		t.Errorf("clone of an empty profile: %+v", z)
	}
}

// doctor measuring the same idle limit again confirms it (seen twice,
// first learned kept); another measurement replaces it.
func TestLearnIdleSameMeasurementConfirms(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	var p Profile
	p.LearnIdle(30*time.Second, time.Minute, now)
	p.LearnIdle(30*time.Second, time.Minute, now.Add(time.Hour))
	if e := p.Idle.Evidence; e.Seen != 2 || !e.Learned.Equal(now) || !e.Last.Equal(now.Add(time.Hour)) {
		t.Errorf("the same measurement again: %+v, want seen 2, learned %v, last an hour later", e, now)
	}
	p.LearnIdle(20*time.Second, 40*time.Second, now.Add(2*time.Hour))
	if e := p.Idle.Evidence; e.Seen != 1 || !e.Learned.Equal(now.Add(2*time.Hour)) || p.Idle.Survived != Duration(20*time.Second) {
		t.Errorf("another measurement: %+v, want it alone, seen once", p.Idle)
	}
}
