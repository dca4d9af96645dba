package noop

import (
	"context"
	"time"
)

// Pinger is a control connection that can be kept alive between
// transfers: *control.Conn satisfies it.
type Pinger interface {
	Noop(ctx context.Context) error // a lockstep NOOP
	LastSent() time.Time
}

// KeepIdle keeps an idle control connection alive: it sends a lockstep NOOP
// whenever one is due by s, until ctx is done (it then returns nil, after
// the answer to a NOOP in flight) or a NOOP fails (it returns that error: the connection is gone, and the pool
// that owns it should drop it).
func KeepIdle(ctx context.Context, p Pinger, s Schedule) error {
	if !s.Enabled() {
		<-ctx.Done()
		return nil
	}
	timer := time.NewTimer(s.Until(p.LastSent(), time.Now()))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if wait := s.Until(p.LastSent(), time.Now()); wait > 0 {
			timer.Reset(wait) // something else was written meanwhile
			continue
		}
		// The NOOP runs to its reply even if ctx ends meanwhile: cancelling
		// a command in flight would cost the connection (its reply could be
		// taken for the next command's). It is bounded by the connection's
		// own liveness timeout.
		if err := p.Noop(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		timer.Reset(s.Every)
	}
}
