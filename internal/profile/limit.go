package profile

import "time"

// ConnLimit is how many control connections the server accepted at once
// from us: a connection was refused (421 at the greeting, or 421/530 at
// the login) while Max others were open and logged in with the same
// account, which only the server's own per-client limit explains.
type ConnLimit struct {
	Max int `json:"max"`
	Evidence
}

// ConnsFact returns the connection limit to apply now (0: none known) and
// whether this run should try one connection more than it, to find a
// raised limit: when the limit was seen by one run only, or last seen more
// than RetestAfter ago. An expired limit (WeakeningKept) is none.
func (p Profile) ConnsFact(now time.Time) (limit int, retest bool) {
	c := p.Conns
	if c == nil || c.Max <= 0 {
		return 0, false
	}
	if _, last := c.times(p.Updated); now.Sub(last) > WeakeningKept {
		return 0, false
	}
	return c.Max, c.retest(p.Updated, now)
}

// LearnConns records what one run found: the server refused a connection
// while max were open (refused), or accepted max at once and refused none
// (a limit known before was raised, or is gone: max is then the most this
// run had open). It reports whether the profile changed.
func (p *Profile) LearnConns(max int, refused bool, now time.Time) bool {
	switch {
	case max <= 0:
		return false
	case refused && p.Conns != nil && p.Conns.Max == max:
		p.Conns.confirm(now)
		return true
	case refused:
		p.Conns = &ConnLimit{Max: max, Evidence: newEvidence(SourceRefused, now)}
		return true
	case p.Conns != nil && max > p.Conns.Max:
		p.Conns = nil // more were accepted than the limit said: it was raised
		return true
	}
	return false
}
