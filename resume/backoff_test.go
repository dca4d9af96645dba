package resume

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/control"
)

// noJitter makes the random half of each delay zero, so the sequence is
// the deterministic half: BaseDelay/2, BaseDelay, 2*BaseDelay, ...
func noJitter(time.Duration) time.Duration { return 0 }

func TestBackoffSequenceAndCap(t *testing.T) {
	t.Parallel()
	b := newBackoff(Policy{Retries: 10, BaseDelay: time.Second, MaxDelay: 8 * time.Second, Jitter: noJitter})
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	for i, w := range want {
		d, _, err := b.next(0)
		if err != nil || d != w {
			t.Errorf("retry %d: delay %v, %v; want %v", i+1, d, err, w)
		}
	}
}

func TestBackoffJitterWithinBounds(t *testing.T) {
	t.Parallel()
	b := newBackoff(Policy{Retries: 100, BaseDelay: time.Second, MaxDelay: 16 * time.Second})
	for i := 0; i < 50; i++ {
		d, _, err := b.next(0)
		if err != nil {
			t.Fatal(err)
		}
		full := min(time.Second<<min(i, 30), 16*time.Second)
		if d < full/2 || d > full {
			t.Errorf("retry %d: delay %v outside [%v, %v]", i+1, d, full/2, full)
		}
	}
}

func TestBackoffGivesUpAfterRetriesWithoutProgress(t *testing.T) {
	t.Parallel()
	b := newBackoff(Policy{Retries: 3, BaseDelay: time.Second, Jitter: noJitter})
	for i := 0; i < 3; i++ {
		if _, _, err := b.next(0); err != nil {
			t.Fatalf("gave up after %d failures, want 3 retries", i+1)
		}
	}
	if _, _, err := b.next(0); !errors.Is(err, ErrGaveUp) {
		t.Fatalf("err = %v, want ErrGaveUp after the 4th failure", err)
	}
}

func TestBackoffResetsOnProgressAndSaysSo(t *testing.T) {
	t.Parallel()
	b := newBackoff(Policy{Retries: 3, BaseDelay: time.Second, MaxDelay: time.Minute, Jitter: noJitter})
	b.next(0)
	b.next(0)
	d, reset, err := b.next(0)
	if d != 2*time.Second || reset || err != nil {
		t.Fatalf("third failure: %v %v %v", d, reset, err)
	}
	d, reset, err = b.next(12345) // this attempt moved bytes
	if err != nil || !reset || d != 0 {
		t.Errorf("after progress: delay %v, reset %v, err %v; want no wait, reported as a reset", d, reset, err)
	}
	// And the count of failures without progress starts again: 3 retries
	// after the failure of the attempt that moved bytes, waiting as after
	// a second failure.
	for i, want := range []time.Duration{time.Second, 2 * time.Second} {
		d, _, err := b.next(0)
		if err != nil {
			t.Fatalf("gave up %d failures after progress", i+2)
		}
		if d != want {
			t.Errorf("failure %d after progress: delay %v, want %v", i+2, d, want)
		}
	}
	if _, _, err := b.next(0); !errors.Is(err, ErrGaveUp) {
		t.Errorf("err = %v, want ErrGaveUp", err)
	}
}

func TestBackoffMaxAttemptsBoundsProgressLoops(t *testing.T) {
	t.Parallel()
	b := newBackoff(Policy{Retries: 3, MaxAttempts: 20, BaseDelay: time.Millisecond, Jitter: noJitter})
	n := 0
	for {
		n++
		if _, _, err := b.next(1); err != nil { // always a little progress
			if !errors.Is(err, ErrGaveUp) {
				t.Fatal(err)
			}
			break
		}
		if n > 100 {
			t.Fatal("endless loop")
		}
	}
	if n != 20 {
		t.Errorf("stopped after %d attempts, want 20", n)
	}
}

// The retry loop in virtual time: the waits between attempts are the
// backoff's, and the overall deadline ends it.
func TestRetryLoopTimingAndDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var at []time.Duration
		start := time.Now()
		o := Options{Policy: Policy{Retries: 100, MaxAttempts: 100, BaseDelay: 2 * time.Second, MaxDelay: 10 * time.Second, Deadline: time.Minute, Jitter: noJitter}}
		var out Outcome
		err := retry(t.Context(), &o, &out, func(ctx context.Context, n int) (step, error) {
			at = append(at, time.Since(start))
			return step{}, errors.New("connection refused")
		})
		if !errors.Is(err, ErrGaveUp) {
			t.Fatalf("err = %v, want ErrGaveUp", err)
		}
		// Delays 1, 2, 4, 5, 5, ... s: attempts at 0, 1, 3, 7, 12, 17, ...
		want := []time.Duration{0, 1, 3, 7, 12, 17, 22, 27, 32, 37, 42, 47, 52, 57}
		if len(at) != len(want) {
			t.Fatalf("attempts at %v, want %v", at, want)
		}
		for i := range want {
			if at[i] != want[i]*time.Second {
				t.Errorf("attempt %d at %v, want %v", i+1, at[i], want[i]*time.Second)
			}
		}
		if time.Since(start) >= time.Minute {
			t.Errorf("ran %v, past the deadline", time.Since(start))
		}
	})
}

// A cancelled context ends the loop at once, even in the middle of a wait,
// and is never retried.
func TestRetryLoopStopsOnCancel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		o := Options{Policy: Policy{Retries: 10, BaseDelay: 10 * time.Second, Jitter: noJitter}}
		calls := 0
		go func() {
			time.Sleep(2 * time.Second)
			cancel()
		}()
		var out Outcome
		err := retry(ctx, &o, &out, func(ctx context.Context, n int) (step, error) {
			calls++
			return step{}, errors.New("reset")
		})
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("err = %v after %d calls, want context.Canceled after 1", err, calls)
		}
	})
}

func TestBackoffCapBelowBase(t *testing.T) {
	t.Parallel()
	b := newBackoff(Policy{Retries: 5, BaseDelay: time.Second, MaxDelay: 100 * time.Millisecond})
	for i := 0; i < 5; i++ {
		if d, _, _ := b.next(0); d > 100*time.Millisecond {
			t.Errorf("retry %d: delay %v above the 100ms cap", i+1, d)
		}
	}
}

// In virtual time: an attempt that moved bytes is retried at once; the
// waits come back, from the base delay, only for attempts without
// progress, and --retries counts only those.
func TestRetryAfterProgressComesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var at []time.Duration
		start := time.Now()
		o := Options{Policy: Policy{Retries: 2, MaxAttempts: 100, BaseDelay: 2 * time.Second, MaxDelay: 10 * time.Second, Jitter: noJitter}}
		progress := []int64{100, 100, 0, 100, 0, 0}
		var out Outcome
		err := retry(t.Context(), &o, &out, func(ctx context.Context, n int) (step, error) {
			at = append(at, time.Since(start))
			time.Sleep(time.Second) // each attempt runs a second before it fails
			return step{moved: progress[n-1], progress: progress[n-1]}, errors.New("connection reset")
		})
		if !errors.Is(err, ErrGaveUp) {
			t.Fatalf("err = %v, want ErrGaveUp", err)
		}
		// Attempt 1 (progress) fails at 1 s: retried at once; 2 (progress)
		// fails at 2 s: at once; 3 (none) fails at 3 s: waits 2 s (the
		// second failure's); 4 (progress) fails at 6 s: at once; 5 (none)
		// waits 2 s; 6 fails too: the second retry without progress after
		// 4's failure uses up Retries (2).
		want := []time.Duration{0, 1, 2, 5, 6, 9}
		if len(at) != len(want) {
			t.Fatalf("attempts at %v, want %v s", at, want)
		}
		for i := range want {
			if at[i] != want[i]*time.Second {
				t.Errorf("attempt %d at %v, want %v", i+1, at[i], want[i]*time.Second)
			}
		}
	})
}

// Retry, for a step that moves no file data (a listing, making a folder),
// in virtual time: a transient failure is retried after the policy's
// delay, each retry logged and reported as an EventRetry; a success ends
// it; a permanent failure (a 550) and a cancel are not retried; the
// policy giving up wraps ErrGaveUp and the step's last error.
func TestRetryStep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var events []Event
		var logs []string
		o := Options{Policy: Policy{Retries: 3, BaseDelay: 2 * time.Second, MaxDelay: 10 * time.Second, Jitter: noJitter},
			Events: func(e Event) { events = append(events, e) },
			Logf:   func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }}
		reset := errors.New("connection reset by peer")
		start := time.Now()
		var at []time.Duration
		err := Retry(t.Context(), "list ftp://h/d", o, func(ctx context.Context) error {
			at = append(at, time.Since(start))
			if len(at) < 3 {
				return reset
			}
			return nil
		})
		// Delays 1 s, then 2 s (half the base, doubling: as a transfer's).
		if err != nil || !slices.Equal(at, []time.Duration{0, time.Second, 3 * time.Second}) {
			t.Errorf("transient twice, then fine: %v, attempts at %v; want nil at 0, 1s, 3s", err, at)
		}
		if len(events) != 2 || events[0].Kind != EventRetry || events[0].Attempt != 1 || events[0].Delay != time.Second ||
			events[1].Attempt != 2 || events[1].Delay != 2*time.Second || events[1].Reason != reset.Error() {
			t.Errorf("events %+v, want two retries (attempts 1 and 2, 1s and 2s)", events)
		}
		if len(logs) != 2 || logs[0] != "list ftp://h/d: attempt 1 failed: connection reset by peer; retrying in 1s" {
			t.Errorf("logs %q", logs)
		}

		events, calls := nil, 0
		refused := &control.ReplyError{Cmd: "MLSD /d", Code: 550, Msg: "no such directory"}
		err = Retry(t.Context(), "list", o, func(ctx context.Context) error { calls++; return refused })
		if !errors.Is(err, control.ErrNotFound) || calls != 1 || len(events) != 0 {
			t.Errorf("a 550: %v after %d calls, %d events; want it at once, not retried", err, calls, len(events))
		}

		calls = 0
		err = Retry(t.Context(), "list", o, func(ctx context.Context) error { calls++; return reset })
		if !errors.Is(err, ErrGaveUp) || !errors.Is(err, reset) || calls != 4 {
			t.Errorf("always reset: %v after %d calls; want ErrGaveUp wrapping the reset after 4 (3 retries)", err, calls)
		}

		ctx, cancel := context.WithCancel(t.Context())
		calls = 0
		go func() { time.Sleep(500 * time.Millisecond); cancel() }()
		err = Retry(ctx, "list", o, func(ctx context.Context) error { calls++; return reset })
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("cancelled during the wait: %v after %d calls; want context.Canceled after 1", err, calls)
		}
	})
}
