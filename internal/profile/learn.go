package profile

import (
	"slices"
	"time"

	"github.com/keepftp/keepftp/noop"
)

// Learning is in one place: the Client's connections and doctor's probes
// both hand what they saw to Learn, so that a fact means the same
// whichever of them saw it.

// Seen is what one look at a server showed: a control connection handed
// back by a transfer, or doctor's probes. What was not looked at stays
// zero and leaves what is known alone.
type Seen struct {
	// Measured is doctor's measurement of the idle limit; it replaces
	// what was known (LearnIdle).
	Measured *Measure
	// DeadAfter is the silence after which a control connection was found
	// dead (0: none was): the idle limit is at most that (LearnDead).
	DeadAfter time.Duration
	// Noop is the NOOP behaviour observed during transfers (Unknown:
	// none to count), and NoopSource where from (SourceTransfers,
	// SourceNoopProbe). A caller counts one run as one observation: it
	// passes an abort once per run.
	Noop       noop.Behaviour
	NoopSource string
	// Features are what the connection offered (nil: not looked at). An
	// EPSV or MLSD left nil was not tried, and keeps what was known; the
	// hash commands refused add to those refused before.
	Features *Features
	// TLS is the TLS version the control connection used ("": none).
	TLS string
}

// Measure is an idle limit measured: a silence of Survived was survived
// (0: none), one of Failed was not (0: none failed).
type Measure struct{ Survived, Failed time.Duration }

// Learn merges what was seen into the profile, after dropping the facts
// kept past their time. changed reports whether anything was learned or
// confirmed (the profile is worth writing); shorter, whether the idle
// limit is now shorter than was known (worth a note).
func (p *Profile) Learn(s Seen, now time.Time) (changed, shorter bool) {
	p.Expire(now)
	if m := s.Measured; m != nil {
		p.LearnIdle(m.Survived, m.Failed, now)
		changed = true
	}
	if s.DeadAfter > 0 {
		shorter = p.LearnDead(s.DeadAfter, now)
		changed = changed || p.Idle != nil && p.Idle.Last.Equal(now) // learned, or confirmed
	}
	if s.Noop != noop.Unknown && p.LearnNoop(s.Noop, s.NoopSource, now) {
		changed = true
	}
	if s.Features != nil {
		if f := mergeFeatures(p.Features, *s.Features); !sameFeatures(p.Features, &f) {
			p.Features, changed = &f, true
		}
	}
	if s.TLS != "" && p.TLS != s.TLS {
		p.TLS, changed = s.TLS, true
	}
	return changed, shorter
}

// mergeFeatures is what a connection saw, keeping what it did not try
// from before: EPSV and MLSD where it did not try them, and the hash
// commands refused earlier (a connection that was told need not refuse
// again).
func mergeFeatures(old *Features, seen Features) Features {
	seen.Hashes = slices.Clone(seen.Hashes)
	seen.HashRefused = slices.Clone(seen.HashRefused)
	if old != nil {
		if seen.EPSV == nil {
			seen.EPSV = old.EPSV
		}
		if seen.MLSD == nil {
			seen.MLSD = old.MLSD
		}
		for _, cmd := range old.HashRefused {
			if !slices.Contains(seen.HashRefused, cmd) {
				seen.HashRefused = append(seen.HashRefused, cmd)
			}
		}
	}
	slices.Sort(seen.HashRefused)
	return seen
}

func sameFeatures(a, b *Features) bool {
	if a == nil || b == nil {
		return a == b
	}
	eq := func(x, y *bool) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	return eq(a.MLSD, b.MLSD) && eq(a.EPSV, b.EPSV) && a.RestStream == b.RestStream &&
		slices.Equal(a.Hashes, b.Hashes) && slices.Equal(a.HashRefused, b.HashRefused)
}

// Clone returns a copy that shares nothing a caller may change in place.
func (p Profile) Clone() Profile {
	if p.Idle != nil {
		i := *p.Idle
		p.Idle = &i
	}
	if p.NoopEvidence != nil {
		e := *p.NoopEvidence
		p.NoopEvidence = &e
	}
	if p.Conns != nil {
		c := *p.Conns
		p.Conns = &c
	}
	if p.Features != nil {
		f := *p.Features
		f.Hashes = slices.Clone(f.Hashes)
		f.HashRefused = slices.Clone(f.HashRefused)
		p.Features = &f
	}
	return p
}
