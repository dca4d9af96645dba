package profile

import (
	"fmt"
	"time"

	"github.com/keepftp/keepftp/noop"
)

// How sure a fact is, and how long it is kept.
//
// A fact that weakens what keepftp does (no NOOPs during transfers to a
// server that aborts on them, fewer connections to a server that limits
// them) comes only from evidence the server itself produced, and it is
// tested again: it is forgotten WeakeningKept after it was last seen, and
// a run retests it (NOOPs during one transfer at a time, one connection
// more than the limit) when it was seen by one run only or last seen more
// than RetestAfter ago. A fact that strengthens keepalive (a shorter idle
// limit) is learned at once, from one control connection found dead after
// a silence, and forgotten IdleKept after it was last seen, so that a
// false one (an outage taken for an idle limit) does not stay forever.
const (
	WeakeningKept = 7 * 24 * time.Hour
	RetestAfter   = 24 * time.Hour
	IdleKept      = 30 * 24 * time.Hour
)

// Where a fact came from.
const (
	SourceDoctor    = "doctor --idle-probe"
	SourceDead      = "a control connection found dead after a silence"
	SourceNoopProbe = "doctor's NOOP probe"
	SourceTransfers = "transfers"
	SourceRefused   = "a connection refused while others were open"
)

// Evidence is how sure a fact is: where it came from, how many
// independent observations (runs, or doctor's probes) showed it, when it
// was first learned and when it was last seen. A profile written before
// keepftp kept evidence has only Source and Learned (or neither): it
// counts as seen once, when the profile was last updated.
type Evidence struct {
	Source  string    `json:"source"`
	Seen    int       `json:"seen,omitempty"`
	Learned time.Time `json:"learned"`
	Last    time.Time `json:"last_seen,omitzero"`
}

func newEvidence(source string, now time.Time) Evidence {
	return Evidence{Source: source, Seen: 1, Learned: now, Last: now}
}

// times returns how often and when last the fact was seen, with the
// defaults of an old profile (updated: the profile's last update).
func (e Evidence) times(updated time.Time) (seen int, last time.Time) {
	seen, last = max(e.Seen, 1), e.Last
	if last.IsZero() {
		last = e.Learned
	}
	if last.IsZero() {
		last = updated
	}
	return seen, last
}

// confirm records one more independent observation of the fact.
func (e *Evidence) confirm(now time.Time) {
	seen, _ := e.times(now)
	e.Seen, e.Last = seen+1, now
	if e.Learned.IsZero() {
		e.Learned = now
	}
}

// Describe says how sure the fact is, for a person; updated is the
// profile's Updated (the default of an old profile).
func (e Evidence) Describe(updated time.Time) string {
	seen, last := e.times(updated)
	runs := "once"
	if seen > 1 {
		runs = fmt.Sprintf("%d times", seen)
	}
	src := e.Source
	if src == "" {
		src = "an earlier keepftp"
	}
	return fmt.Sprintf("from %s, seen %s, last %s", src, runs, last.Local().Format(time.DateTime))
}

// retest says whether a weakening fact is due to be tested again.
func (e Evidence) retest(updated, now time.Time) bool {
	seen, last := e.times(updated)
	return seen < 2 || now.Sub(last) > RetestAfter
}

// Expire removes the facts kept past their time and reports what it
// removed, for a note.
func (p *Profile) Expire(now time.Time) (gone []string) {
	if p.Idle != nil {
		if _, last := p.Idle.Evidence.times(p.Updated); now.Sub(last) > IdleKept {
			p.Idle, gone = nil, append(gone, "control idle limit")
		}
	}
	if p.NoopBehaviour() == noop.Aborts {
		if _, last := p.noopEvidence().times(p.Updated); now.Sub(last) > WeakeningKept {
			p.Noop, p.NoopEvidence = "", nil
			gone = append(gone, "aborts on NOOP")
		}
	}
	if p.Conns != nil {
		if _, last := p.Conns.Evidence.times(p.Updated); now.Sub(last) > WeakeningKept {
			p.Conns, gone = nil, append(gone, "connection limit")
		}
	}
	return gone
}
