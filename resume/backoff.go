package resume

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy bounds reconnects.
type Policy struct {
	// Retries is how many failed attempts in a row, none of which moved a
	// byte, end the transfer. An attempt that moved bytes starts the count
	// (and the delay) afresh, and says so.
	Retries int
	// BaseDelay is the delay before the first retry after an attempt that
	// made no progress; it doubles after each such attempt, up to MaxDelay.
	// An attempt that moved bytes is retried at once: the server was
	// there a moment ago (a cut, a middlebox's reset), and a wait would
	// only hold the file back.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxAttempts bounds attempts in all, progress or not: a server that
	// cuts every transfer after a few bytes must not keep us forever.
	MaxAttempts int
	// Deadline, if positive, bounds the whole transfer, retries included.
	Deadline time.Duration

	// Jitter returns a random duration in [0, d). nil means math/rand.
	// Tests set it to make the sequence deterministic.
	Jitter func(d time.Duration) time.Duration
}

// DefaultPolicy is what the CLI uses unless told otherwise.
var DefaultPolicy = Policy{Retries: 10, BaseDelay: time.Second, MaxDelay: time.Minute, MaxAttempts: 1000}

// ErrGaveUp wraps the last error when the policy ends a transfer.
var ErrGaveUp = errors.New("gave up")

// backoff is the state of one transfer's retries.
type backoff struct {
	p        Policy
	fails    int // attempts in a row without progress
	attempts int
	start    time.Time
}

func newBackoff(p Policy) *backoff {
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultPolicy.BaseDelay
	}
	switch {
	case p.MaxDelay <= 0:
		p.MaxDelay = max(p.BaseDelay, DefaultPolicy.MaxDelay)
	case p.MaxDelay < p.BaseDelay:
		p.BaseDelay = p.MaxDelay // a cap below the base lowers the base
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultPolicy.MaxAttempts
	}
	if p.Jitter == nil {
		p.Jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d)
		}
	}
	return &backoff{p: p, start: time.Now()}
}

// next records a failed attempt that moved moved bytes and returns the
// delay before the next one (none after progress), or an error wrapping
// ErrGaveUp. reset says whether progress started the count afresh.
func (b *backoff) next(moved int64) (delay time.Duration, reset bool, err error) {
	b.attempts++
	if moved > 0 {
		reset = b.fails > 0
		b.fails = 0
	}
	b.fails++
	switch {
	case b.p.Retries == 0:
		return 0, reset, fmt.Errorf("%w (retries are off)", ErrGaveUp)
	case b.fails > b.p.Retries:
		return 0, reset, fmt.Errorf("%w after %d attempts in a row without progress", ErrGaveUp, b.fails)
	case b.attempts >= b.p.MaxAttempts:
		return 0, reset, fmt.Errorf("%w after %d attempts", ErrGaveUp, b.attempts)
	}
	if moved <= 0 {
		// Equal jitter: half the exponential delay is kept, so a retry
		// without progress never comes at once, and half is random, so
		// clients that failed together do not come back together.
		d := b.p.BaseDelay << min(b.fails-1, 30)
		if d > b.p.MaxDelay || d <= 0 {
			d = b.p.MaxDelay
		}
		delay = d/2 + b.p.Jitter(d/2+1)
	}
	if b.p.Deadline > 0 && time.Since(b.start)+delay >= b.p.Deadline {
		return 0, reset, fmt.Errorf("%w: the %v deadline would pass before the next attempt", ErrGaveUp, b.p.Deadline)
	}
	return delay, reset, nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Retry runs op, a step that moves no file data (a directory listing,
// making folders), under the same policy as a transfer: while it fails for
// a reason that may pass (Classify says Transient), it is run again after
// the policy's delay, until the policy gives up (the error then wraps
// ErrGaveUp and op's last error). what names the step in the log. Each
// retry is logged and reported as an EventRetry.
func Retry(ctx context.Context, what string, o Options, op func(context.Context) error) error {
	bo := newBackoff(o.policy())
	for n := 1; ; n++ {
		err := op(ctx)
		if err == nil || ctx.Err() != nil || Classify(err) != Transient {
			return err
		}
		delay, _, gerr := bo.next(0)
		if gerr != nil {
			return fmt.Errorf("%w: %w", gerr, err)
		}
		o.logf("%s: attempt %d failed: %v; retrying in %v", what, n, err, delay.Round(time.Millisecond))
		o.event(Event{Kind: EventRetry, Attempt: n, Delay: delay, Reason: err.Error()})
		if err := sleep(ctx, delay); err != nil {
			return err
		}
	}
}
