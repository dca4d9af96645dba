package keepftp

import (
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
)

// profiles applies and feeds the learned server profiles (see
// internal/profile) for one Client: each server's profile is read once,
// its keepalive, NOOP behaviour and refused probes are applied to the
// connections and transfers, and what the connections show is written
// back when it adds to what is known. A Client with Options.NoProfile, or
// without a cache directory, has a profiles with no store: it does
// nothing.
type profiles struct {
	store *profile.Store
	noops *noop.Registry
	logf  func(format string, args ...any)

	mu        sync.Mutex
	known     map[profile.Key]profile.Profile // as last read or written, expired facts dropped
	logged    map[profile.Key]bool            // the keepalive note was logged
	confirmed map[profile.Key]bool            // this run's abort on NOOP was counted: one run is one observation
	lockstep  map[profile.Key]bool            // servers suspected of losing commands written together, in this process (with or without a store)
}

func newProfiles(noops *noop.Registry, o Options) *profiles {
	ps := &profiles{noops: noops, logf: o.Logf, known: map[profile.Key]profile.Profile{}, logged: map[profile.Key]bool{}, confirmed: map[profile.Key]bool{}, lockstep: map[profile.Key]bool{}}
	if o.NoProfile {
		return ps
	}
	s, err := profile.Open(o.ProfileDir)
	if err != nil {
		ps.note("server profiles off: %v", err)
		return ps
	}
	ps.store = s
	return ps
}

func (ps *profiles) note(format string, args ...any) {
	if ps.logf != nil {
		ps.logf(format, args...)
	}
}

func keyOf(t resume.Target) profile.Key { return profile.Key{Addr: t.Addr, User: t.User} }

// get returns t's profile, read from the store once per Client.
func (ps *profiles) get(t resume.Target) profile.Profile {
	if ps.store == nil {
		return profile.Profile{}
	}
	k := keyOf(t)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p, ok := ps.known[k]; ok {
		return p.Clone()
	}
	p, _, err := ps.store.Load(k)
	if err != nil {
		ps.note("%v (ignored; it is replaced when keepftp learns something)", err)
	}
	if gone := p.Expire(time.Now()); len(gone) > 0 {
		ps.note("%s: forgotten, as too old to trust: %s", t.Addr, strings.Join(gone, ", "))
	}
	ps.known[k] = p
	return p.Clone()
}

// keepalive returns the NOOP interval for t: the user's, or the one the
// profile's idle limit calls for when that is shorter than the default.
// The second result is false when NOOPs are off.
func (ps *profiles) keepalive(t resume.Target, o *resume.Options) (time.Duration, bool) {
	if o.NoKeepalive {
		return 0, false
	}
	if o.Keepalive > 0 {
		return o.Keepalive, true
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = control.DefaultTimeout
	}
	def := noop.Interval(timeout)
	p := ps.get(t)
	k := p.Keepalive()
	if k <= 0 || k >= def {
		return def, true
	}
	ps.mu.Lock()
	first := !ps.logged[keyOf(t)]
	ps.logged[keyOf(t)] = true
	ps.mu.Unlock()
	if first {
		ps.note("%s: NOOP every %v, not %v: the path's control idle limit is %s (learned from %s; --keepalive overrides, doctor --forget removes it)",
			t.Addr, k, def, idleText(p.Idle), p.Idle.Source)
	}
	return k, true
}

func idleText(i *profile.Idle) string {
	if i.Survived > 0 && i.Failed > 0 {
		return "between " + i.Survived.String() + " and " + i.Failed.String()
	}
	if i.Failed > 0 {
		return "at most " + i.Failed.String()
	}
	return "above " + i.Survived.String()
}

// transfer applies t's profile to a file's options.
func (ps *profiles) transfer(t resume.Target, o *resume.Options) {
	if k, on := ps.keepalive(t, o); on {
		o.Keepalive = k
	}
}

// config applies the probes t's profile already answered, and what this
// process saw of the server's pipelining.
func (ps *profiles) config(t resume.Target, cfg *control.Config) {
	ps.mu.Lock()
	cfg.Lockstep = ps.lockstep[keyOf(t)]
	ps.mu.Unlock()
	p := ps.get(t)
	if g := tlsGroup(p.TLSGroup); g != 0 && t.TLSMode != control.TLSNone {
		// Offered first, the group the server took last time spares the
		// handshake a HelloRetryRequest.
		tc := &tls.Config{}
		if cfg.TLS != nil {
			tc = cfg.TLS.Clone()
		}
		tc.CurvePreferences = control.GroupFirst(tc.CurvePreferences, g)
		cfg.TLS = tc
	}
	f := p.Features
	if f == nil {
		return
	}
	cfg.NoEPSV = f.EPSV != nil && !*f.EPSV
	// MLSD is not skipped on the profile's word: FEAT says on every
	// connection whether MLST is offered, and what it says now wins (a
	// server that once had none may have it now).
	cfg.NoHash = f.HashRefused
	cfg.Lockstep = cfg.Lockstep || f.Pipelining != nil && !*f.Pipelining
	if f.AfterFinal != nil {
		cfg.Deferral = control.AnsweredBefore
		if *f.AfterFinal {
			cfg.Deferral = control.AnsweredAfter
		}
	}
}

// loggedIn is told of each connection dialled for t that logged in. One
// that logged in one command at a time because an earlier one lost its
// pipelined login in this process shows that the server needs lockstep:
// that is remembered. (A lost login alone is only a suspicion: a
// refused password, which pure-ftpd answers seconds late and pyftpdlib
// after the commands behind it, looks the same.)
func (ps *profiles) loggedIn(t resume.Target, c *control.Conn, cfg control.Config) {
	ps.mu.Lock()
	confirmed := cfg.Lockstep && ps.lockstep[keyOf(t)]
	ps.mu.Unlock()
	if confirmed {
		ps.savePipelining(t, false)
	}
}

// savePipelining records whether t's server takes commands written
// together, when that is news.
func (ps *profiles) savePipelining(t resume.Target, works bool) {
	if ps.store == nil {
		return
	}
	if f := ps.get(t).Features; f != nil && f.Pipelining != nil && *f.Pipelining == works {
		return
	}
	k := keyOf(t)
	err := ps.store.Update(k, func(p *profile.Profile) {
		if p.Features == nil {
			p.Features = &profile.Features{}
		}
		p.Features.Pipelining = &works
		ps.mu.Lock()
		ps.known[k] = p.Clone()
		ps.mu.Unlock()
	})
	if err != nil {
		ps.note("server profile not saved: %v", err)
	}
}

// tlsGroup is the key exchange group crypto/tls names name, 0 if none.
func tlsGroup(name string) tls.CurveID {
	for _, g := range []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521} {
		if g.String() == name {
			return g
		}
	}
	return 0
}

// dialled tells the NOOP registry what the profile knows of c's server:
// a remembered abort on NOOP is retested when it is due (see
// profile.Profile.NoopFact).
func (ps *profiles) dialled(t resume.Target, c *control.Conn) {
	if ps.noops == nil {
		return
	}
	if b, retest := ps.get(t).NoopFact(time.Now()); b != noop.Unknown {
		ps.noops.Remember(c.RemoteAddr().String(), b, retest)
	}
}

// learn records what c showed, when it adds to t's profile: an idle limit
// if c died after a known silence, the NOOP behaviour, features and TLS.
func (ps *profiles) learn(t resume.Target, c *control.Conn) {
	pipelining, pipeKnown := c.Pipelining()
	if pipeKnown && !pipelining && errors.Is(c.Err(), control.ErrPipelining) {
		// Its pipelined login was lost: the next connections log in one
		// command at a time, and one that gets in so confirms it
		// (loggedIn).
		pipeKnown = false
		ps.mu.Lock()
		if !ps.lockstep[keyOf(t)] {
			ps.lockstep[keyOf(t)] = true
			ps.note("%s: the server lost commands written together: logging in one command at a time", t.Addr)
		}
		ps.mu.Unlock()
	}
	if ps.store == nil {
		return
	}
	silence, dead := c.DeadSilence()
	behaviour, observed := noop.Unknown, false
	if ps.noops != nil {
		behaviour, observed = ps.noops.Seen(c.RemoteAddr().String())
	}
	k := keyOf(t)
	ps.mu.Lock()
	countAbort := behaviour == noop.Aborts && observed && !ps.confirmed[k]
	ps.mu.Unlock()
	feats := c.Features()
	seen := profile.Features{RestStream: feats.RestStream(), Hashes: feats.HashAlgos(), HashRefused: c.HashRefused()}
	if works, known := c.EPSV(); known {
		seen.EPSV = &works
	}
	if pipeKnown {
		seen.Pipelining = &pipelining
	}
	if d := c.Deferral(); d != control.DeferralUnknown {
		after := d == control.AnsweredAfter
		seen.AfterFinal = &after
	}
	if works, known := c.MLSD(); known {
		seen.MLSD = &works
	} else if !feats.Has("MLST") && !feats.Has("MLSD") {
		seen.MLSD = new(bool) // not offered: List uses LIST without asking
	}
	tlsName, tlsGroup := "", ""
	if v := c.TLSVersion(); v != 0 {
		tlsName = tls.VersionName(v)
	}
	if st, ok := c.TLSState(); ok && st.CurveID != 0 {
		tlsGroup = st.CurveID.String()
	}
	s := profile.Seen{Features: &seen, TLS: tlsName, TLSGroup: tlsGroup, NoopSource: profile.SourceTransfers}
	if dead {
		s.DeadAfter = silence
	}
	if observed && (behaviour != noop.Aborts || countAbort) {
		// Only what this run saw is learned, and an abort once a run.
		// Another behaviour replaces any other, "aborts" included: a
		// transfer completed with NOOPs (noop.Observation.Clean), or
		// answers were seen.
		s.Noop = behaviour
	}
	now := time.Now()
	// Learned on the cached profile, to see whether there is anything to
	// write, then on the stored one under its lock; the note is written
	// the second time only, so that it is written once.
	change := func(p *profile.Profile, say bool) bool {
		changed, shorter := p.Learn(s, now)
		if shorter && say {
			ps.note("%s: the control connection died after %v of silence: later runs send NOOPs well inside that", t.Addr, silence.Round(time.Millisecond))
		}
		return changed
	}
	p := ps.get(t)
	if !change(&p, false) {
		return
	}
	err := ps.store.Update(k, func(p *profile.Profile) {
		change(p, true)
		ps.mu.Lock()
		ps.known[k] = p.Clone()
		if countAbort {
			ps.confirmed[k] = true
		}
		ps.mu.Unlock()
	})
	if err != nil {
		ps.note("server profile not saved: %v", err)
	}
}

// learnSetTime records how t's server takes a file's time
// (profile.Profile.SetTime), when that is news.
func (ps *profiles) learnSetTime(t resume.Target, how string) {
	if ps.store == nil || ps.get(t).SetTime == how {
		return
	}
	k := keyOf(t)
	err := ps.store.Update(k, func(p *profile.Profile) {
		p.SetTime = how
		ps.mu.Lock()
		ps.known[k] = p.Clone()
		ps.mu.Unlock()
	})
	if err != nil {
		ps.note("server profile not saved: %v", err)
	}
}
