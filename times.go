package keepftp

import (
	"sync"

	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/resume"
)

// timeMemo is the Client's memory of how each server takes a file's
// modification time (resume.TimeMemo): what this Client's uploads found,
// else what the server's profile says from earlier runs. What an upload
// finds is written to the profile. A server where no way works is said
// once per Client, with a warning event, not once per file.
type timeMemo struct {
	c *Client

	mu   sync.Mutex
	ways map[profile.Key]string // profile.SetTime's values
	said map[profile.Key]bool   // that no way works
}

func newTimeMemo(c *Client) *timeMemo {
	return &timeMemo{c: c, ways: map[profile.Key]string{}, said: map[profile.Key]bool{}}
}

// way returns what is known of t's server: a way, profile.SetTimeNone,
// or "".
func (m *timeMemo) way(t resume.Target) string {
	m.mu.Lock()
	how, ok := m.ways[keyOf(t)]
	m.mu.Unlock()
	if ok {
		return how
	}
	return m.c.prof.get(t).SetTime
}

// TimeMethod implements resume.TimeMemo.
func (m *timeMemo) TimeMethod(t resume.Target) (string, bool) {
	switch how := m.way(t); how {
	case "":
		return "", false
	case profile.SetTimeNone:
		m.sayNone(t, " (learned by an earlier run; keepftp doctor --forget URL forgets it)")
		return "", true
	default:
		return how, true
	}
}

// LearnTimeMethod implements resume.TimeMemo.
func (m *timeMemo) LearnTimeMethod(t resume.Target, how string) {
	if how == "" {
		how = profile.SetTimeNone
	}
	m.mu.Lock()
	m.ways[keyOf(t)] = how
	m.mu.Unlock()
	if how == profile.SetTimeNone {
		m.sayNone(t, "")
	}
	m.c.prof.learnSetTime(t, how)
}

// noTimes reports whether t's server is known to take no file time.
func (m *timeMemo) noTimes(t resume.Target) bool { return m.way(t) == profile.SetTimeNone }

// sayNone tells, once per server, that it takes no file time.
func (m *timeMemo) sayNone(t resume.Target, from string) {
	k := keyOf(t)
	m.mu.Lock()
	said := m.said[k]
	m.said[k] = true
	m.mu.Unlock()
	if said {
		return
	}
	msg := t.Addr + ": the server takes no file time (MFMT, MDTM with a time and SITE UTIME were tried and read back)" + from +
		": uploaded files keep the time of their upload, and an upload mirror takes a file as up to date when its size is the same and the server's time is not older than the local file's"
	if m.c.o.Logf != nil {
		m.c.o.Logf("warning: %s", msg)
	}
	m.c.emit(Event{Kind: EventWarning, URL: t.String(), Reason: msg})
}
