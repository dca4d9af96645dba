// Package profile remembers, per server and user, what keepftp learned
// about the server and the path to it, across runs: the path's idle limit
// (from doctor's idle probe, or from a control connection found dead after
// a known silence), what the server does with NOOPs during transfers, its
// features and the TLS version that worked. The next run uses it: a
// keepalive interval inside the idle limit, no NOOPs during transfers to a
// server that aborts on them, no probe whose answer is known.
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
	// noop.Behaviour name ("" unknown).
	Noop string `json:"noop_during_transfers,omitempty"`

	Features *Features `json:"features,omitempty"`

	// TLS is the TLS version the control connection used ("TLS 1.3"), ""
	// if it never used TLS.
	TLS string `json:"tls,omitempty"`
}

// Idle is an idle limit: a silence of Survived was survived (0: none
// known) and one of Failed was not (0: none failed).
type Idle struct {
	Survived Duration  `json:"survived,omitempty"`
	Failed   Duration  `json:"failed,omitempty"`
	Source   string    `json:"source"` // SourceDoctor or SourceDead
	Learned  time.Time `json:"learned"`
}

// Where an idle limit came from.
const (
	SourceDoctor = "doctor --idle-probe"
	SourceDead   = "a control connection found dead after a silence"
)

// Features are what the server offers, as seen on a connection.
type Features struct {
	MLSD       *bool    `json:"mlsd,omitempty"` // nil: not known
	EPSV       *bool    `json:"epsv,omitempty"`
	RestStream bool     `json:"rest_stream"`
	Hashes     []string `json:"hashes,omitempty"` // the HASH algorithms offered, strongest first
	// HashRefused names the hash commands ("HASH", "XSHA256", ...) the
	// server announced but refused as not implemented: not sent again.
	HashRefused []string `json:"hash_refused,omitempty"`
	// Pipelining is whether the server answered commands written together
	// (the login in one write); false sends it every command alone.
	Pipelining *bool `json:"pipelining,omitempty"`
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

// LearnIdle merges a measurement from doctor: it replaces what was known.
func (p *Profile) LearnIdle(survived, failed time.Duration, now time.Time) {
	p.Idle = &Idle{Survived: Duration(survived), Failed: Duration(failed), Source: SourceDoctor, Learned: now}
}

// LearnDead merges a control connection found dead after a silence: the
// limit is at most that silence. It reports whether the profile changed:
// a silence longer than a failure already known says nothing new.
func (p *Profile) LearnDead(silence time.Duration, now time.Time) bool {
	if silence < 2*minKeepalive {
		return false
	}
	silence = silence.Round(time.Millisecond)
	if p.Idle == nil {
		p.Idle = &Idle{Failed: Duration(silence), Source: SourceDead, Learned: now}
		return true
	}
	if p.Idle.Failed > 0 && time.Duration(p.Idle.Failed) <= silence {
		return false
	}
	p.Idle.Failed = Duration(silence)
	if time.Duration(p.Idle.Survived) >= silence {
		p.Idle.Survived = 0 // the path changed: what survived then fails now
	}
	p.Idle.Source, p.Idle.Learned = SourceDead, now
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
		fmt.Fprintf(w, "control idle limit:   between %s and %s (%s, %s)\n", p.Idle.Survived, p.Idle.Failed, p.Idle.Source, p.Idle.Learned.Local().Format(time.DateTime))
	case p.Idle.Failed > 0:
		fmt.Fprintf(w, "control idle limit:   at most %s (%s, %s)\n", p.Idle.Failed, p.Idle.Source, p.Idle.Learned.Local().Format(time.DateTime))
	default:
		fmt.Fprintf(w, "control idle limit:   none found up to %s (%s)\n", p.Idle.Survived, p.Idle.Source)
	}
	if k := p.Keepalive(); k > 0 {
		fmt.Fprintf(w, "keepalive used:       %s unless --keepalive says otherwise\n", k)
	}
	noopText := p.Noop
	if noopText == "" {
		noopText = "unknown"
	}
	if p.NoopBehaviour() == noop.Aborts {
		noopText += " (no NOOPs during transfers)"
	}
	fmt.Fprintf(w, "NOOP during transfer: %s\n", noopText)
	if f := p.Features; f != nil {
		fmt.Fprintf(w, "MLSD:                 %s\n", tri(f.MLSD))
		fmt.Fprintf(w, "EPSV:                 %s\n", tri(f.EPSV))
		fmt.Fprintf(w, "commands together:    %s\n", tri(f.Pipelining))
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
