// Package profile remembers, per server and user, what keepftp learned
// about the server and the path to it, across runs: the path's idle limit
// (from doctor's idle probe, or from a control connection found dead after
// a known silence), what the server does with NOOPs during transfers, how
// many connections it accepts from us, its features and the TLS version
// that worked. The next run uses it: a keepalive interval inside the idle
// limit, no NOOPs during transfers to a server that aborts on them, no
// more connections than it accepts, no probe whose answer is known. Each
// fact that changes keepalive or parallelism carries its Evidence (how
// sure, since when) and is kept for a set time (evidence.go).
//
// Profiles live in the user's cache directory, one JSON file per server,
// written atomically under a file lock, so several runs may share them.
// They hold no password.
//
// The package sits beside the root package and doctor, which feed and
// read it. It is not in control, which is mechanism and touches no files,
// nor in noop, whose registry is in-process policy: a profile holds more
// than NOOP facts and outlives the process.
package profile

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/keepftp/keepftp/noop"
)

// Key names a profile: the server's address as the user wrote it
// (host:port) and the login.
type Key struct {
	Addr string // host:port
	User string // "" is anonymous
}

// normal returns the key as it is stored: host lower-case, anonymous
// spelled out.
func (k Key) normal() Key {
	k.Addr = strings.ToLower(k.Addr)
	if k.User == "" || strings.EqualFold(k.User, "ftp") {
		k.User = "anonymous"
	}
	return k
}

func (k Key) String() string { k = k.normal(); return k.User + "@" + k.Addr }

// Profile is what is known about one server for one user.
type Profile struct {
	Server  string    `json:"server"`
	User    string    `json:"user"`
	Updated time.Time `json:"updated"`

	// Idle is the control connection's idle limit on the path, nil until
	// measured or seen.
	Idle *Idle `json:"idle,omitempty"`

	// Noop is what the server did with NOOPs during transfers: a
	// noop.Behaviour name ("" unknown), and how sure that is.
	Noop         string    `json:"noop_during_transfers,omitempty"`
	NoopEvidence *Evidence `json:"noop_evidence,omitempty"`

	// Conns is the number of control connections the server accepts at
	// once from us, nil until a refusal showed it.
	Conns *ConnLimit `json:"connection_limit,omitempty"`

	Features *Features `json:"features,omitempty"`

	// TLS is the TLS version the control connection used ("TLS 1.3"), ""
	// if it never used TLS.
	TLS string `json:"tls,omitempty"`

	// SetTime is how the server takes a file's modification time, as an
	// upload found by setting it and reading it back: "MFMT", "MDTM",
	// "SITE UTIME", or SetTimeNone when no way worked; "" not known.
	SetTime string `json:"set_time,omitempty"`
}

// SetTimeNone is Profile.SetTime for a server that takes no file time.
const SetTimeNone = "none"

// Idle is an idle limit: a silence of Survived was survived (0: none
// known) and one of Failed was not (0: none failed). Its source is
// SourceDoctor or SourceDead.
type Idle struct {
	Survived Duration `json:"survived,omitempty"`
	Failed   Duration `json:"failed,omitempty"`
	Evidence
}

// Features are what the server offers, as seen on a connection.
type Features struct {
	MLSD       *bool    `json:"mlsd,omitempty"` // nil: not known
	EPSV       *bool    `json:"epsv,omitempty"`
	RestStream bool     `json:"rest_stream"`
	Hashes     []string `json:"hashes,omitempty"` // the HASH algorithms offered, strongest first
	// HashRefused names the hash commands ("HASH", "XSHA256", ...) the
	// server announced but refused as not implemented: not sent again.
	HashRefused []string `json:"hash_refused,omitempty"`
}

// Duration marshals as a Go duration string ("1.5s").
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// minKeepalive is the shortest NOOP interval a profile asks for: a path
// that drops flows silent for less than a second is more likely an outage
// seen as an idle limit, and a NOOP every few milliseconds would not help.
const minKeepalive = 500 * time.Millisecond

// Keepalive returns the NOOP interval the idle limit calls for, 0 when
// none is known: half the longest silence survived (doctor's advice), or,
// when only a failure is known, a quarter of it. A control connection is
// then never silent for more than half the limit.
func (p Profile) Keepalive() time.Duration {
	if p.Idle == nil {
		return 0
	}
	var k time.Duration
	switch {
	case p.Idle.Survived > 0:
		k = time.Duration(p.Idle.Survived) / 2
	case p.Idle.Failed > 0:
		k = time.Duration(p.Idle.Failed) / 4
	default:
		return 0
	}
	return max(k.Truncate(100*time.Millisecond), minKeepalive)
}

// NoopBehaviour returns the learned NOOP behaviour.
func (p Profile) NoopBehaviour() noop.Behaviour {
	for b := noop.Unknown; b <= noop.Aborts; b++ {
		if b.String() == p.Noop {
			return b
		}
	}
	return noop.Unknown
}

// noopEvidence is the NOOP behaviour's evidence; an old profile has none.
func (p Profile) noopEvidence() Evidence {
	if p.NoopEvidence != nil {
		return *p.NoopEvidence
	}
	return Evidence{}
}

// NoopFact returns the NOOP behaviour to apply now, and whether it is to
// be tested again in this run: "aborts on NOOP" seen by one run only, or
// last seen more than RetestAfter ago. An expired one (WeakeningKept) is
// Unknown.
func (p Profile) NoopFact(now time.Time) (b noop.Behaviour, retest bool) {
	b = p.NoopBehaviour()
	if b != noop.Aborts {
		return b, false
	}
	ev := p.noopEvidence()
	if _, last := ev.times(p.Updated); now.Sub(last) > WeakeningKept {
		return noop.Unknown, false
	}
	return b, ev.retest(p.Updated, now)
}

// LearnNoop records the NOOP behaviour one run (or one doctor probe)
// showed, from source. The same behaviour again is one more observation;
// another one replaces it. It reports whether the profile changed.
func (p *Profile) LearnNoop(b noop.Behaviour, source string, now time.Time) bool {
	if b == noop.Unknown {
		return false
	}
	if p.NoopBehaviour() == b {
		if b != noop.Aborts {
			return false // only a weakening fact needs its sightings counted
		}
		ev := p.noopEvidence()
		ev.confirm(now)
		ev.Source = source
		p.NoopEvidence = &ev
		return true
	}
	ev := newEvidence(source, now)
	p.Noop, p.NoopEvidence = b.String(), &ev
	return true
}

// LearnIdle merges a measurement from doctor: it replaces what was known.
func (p *Profile) LearnIdle(survived, failed time.Duration, now time.Time) {
	ev := newEvidence(SourceDoctor, now)
	if p.Idle != nil && p.Idle.Source == SourceDoctor && p.Idle.Survived == Duration(survived) && p.Idle.Failed == Duration(failed) {
		ev = p.Idle.Evidence
		ev.confirm(now) // the same measurement again
	}
	p.Idle = &Idle{Survived: Duration(survived), Failed: Duration(failed), Evidence: ev}
}

// LearnDead merges a control connection found dead after a silence: the
// limit is at most that silence. A shorter limit only makes NOOPs more
// frequent, so one such connection is enough. It reports whether the
// limit is now shorter; a silence longer than a failure already known
// only confirms it (it counts as seen again).
func (p *Profile) LearnDead(silence time.Duration, now time.Time) (shorter bool) {
	if silence < 2*minKeepalive {
		return false
	}
	silence = silence.Round(time.Millisecond)
	if p.Idle == nil {
		p.Idle = &Idle{Failed: Duration(silence), Evidence: newEvidence(SourceDead, now)}
		return true
	}
	if p.Idle.Failed > 0 && time.Duration(p.Idle.Failed) <= silence {
		p.Idle.confirm(now)
		return false
	}
	p.Idle.Failed = Duration(silence)
	if time.Duration(p.Idle.Survived) >= silence {
		p.Idle.Survived = 0 // the path changed: what survived then fails now
	}
	p.Idle.Evidence = newEvidence(SourceDead, now)
	return true
}

// WriteText writes the profile for a person.
func (p Profile) WriteText(w interface{ Write([]byte) (int, error) }) {
	fmt.Fprintf(w, "server:               %s\n", p.Server)
	fmt.Fprintf(w, "user:                 %s\n", p.User)
	fmt.Fprintf(w, "updated:              %s\n", p.Updated.Local().Format(time.DateTime))
	switch {
	case p.Idle == nil:
		fmt.Fprintf(w, "control idle limit:   not known (keepftp doctor --idle-probe measures it)\n")
	case p.Idle.Survived > 0 && p.Idle.Failed > 0:
		fmt.Fprintf(w, "control idle limit:   between %s and %s (%s)\n", p.Idle.Survived, p.Idle.Failed, p.Idle.Describe(p.Updated))
	case p.Idle.Failed > 0:
		fmt.Fprintf(w, "control idle limit:   at most %s (%s)\n", p.Idle.Failed, p.Idle.Describe(p.Updated))
	default:
		fmt.Fprintf(w, "control idle limit:   none found up to %s (%s)\n", p.Idle.Survived, p.Idle.Describe(p.Updated))
	}
	if k := p.Keepalive(); k > 0 {
		fmt.Fprintf(w, "keepalive used:       %s unless --keepalive says otherwise\n", k)
	}
	noopText := p.Noop
	if noopText == "" {
		noopText = "unknown"
	}
	if p.NoopBehaviour() == noop.Aborts {
		noopText += " (no NOOPs during transfers; " + p.noopEvidence().Describe(p.Updated) + ")"
	}
	fmt.Fprintf(w, "NOOP during transfer: %s\n", noopText)
	if c := p.Conns; c != nil {
		fmt.Fprintf(w, "connections at once:  at most %d (%s)\n", c.Max, c.Describe(p.Updated))
	}
	if f := p.Features; f != nil {
		fmt.Fprintf(w, "MLSD:                 %s\n", tri(f.MLSD))
		fmt.Fprintf(w, "EPSV:                 %s\n", tri(f.EPSV))
		fmt.Fprintf(w, "REST STREAM:          %s\n", tri(&f.RestStream))
		hashes := "none"
		if len(f.Hashes) > 0 {
			hashes = strings.Join(f.Hashes, ", ")
		}
		if len(f.HashRefused) > 0 {
			hashes += " (refused: " + strings.Join(f.HashRefused, ", ") + ")"
		}
		fmt.Fprintf(w, "hashes:               %s\n", hashes)
	}
	tls := p.TLS
	if tls == "" {
		tls = "not used"
	}
	fmt.Fprintf(w, "TLS:                  %s\n", tls)
	switch p.SetTime {
	case "":
		fmt.Fprintf(w, "set file times:       not known (an upload finds out)\n")
	case SetTimeNone:
		fmt.Fprintf(w, "set file times:       no way works (MFMT, MDTM, SITE UTIME): an upload mirror takes a server time not older than the local file's as up to date\n")
	default:
		fmt.Fprintf(w, "set file times:       %s\n", p.SetTime)
	}
}

func tri(b *bool) string {
	switch {
	case b == nil:
		return "not known"
	case *b:
		return "yes"
	}
	return "no"
}
