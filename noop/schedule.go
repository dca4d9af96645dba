package noop

import "time"

// Interval is the keepalive interval for a liveness timeout: a quarter of
// it (the Ouroboros rule).
func Interval(timeout time.Duration) time.Duration { return timeout / 4 }

// Schedule says when a NOOP is due. The zero Schedule (Every 0) never sends.
type Schedule struct {
	Every time.Duration // the interval; 0 turns keepalive off
}

// Enabled reports whether the schedule ever sends.
func (s Schedule) Enabled() bool { return s.Every > 0 }

// Until returns how long from now until a NOOP is due, given when the
// control connection was last written. Zero or less means due now. Any
// command written resets the clock, so a busy connection sends no NOOP.
func (s Schedule) Until(lastSent, now time.Time) time.Duration {
	return lastSent.Add(s.Every).Sub(now)
}
