package transfer

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestClassifyZeroCopyErrors(t *testing.T) {
	t.Parallel()
	reset := &os.PathError{Op: "write", Path: "f.part", Err: &os.SyscallError{Syscall: "splice", Err: syscall.ECONNRESET}}
	full := &os.PathError{Op: "write", Path: "f.part", Err: syscall.ENOSPC}
	var le *LocalError
	if errors.As(classify(reset), &le) {
		t.Errorf("a reset socket during splice was taken for a local failure")
	}
	if !errors.As(classify(fmt.Errorf("copy: %w", full)), &le) {
		t.Errorf("a full disk was not taken for a local failure")
	}
}

// The mark is what comes in lowWaterFill at the window's rate, within
// [lowWaterMin, lowWaterMax]: a mark the data cannot fill within the idle
// time would be lowered again and again.
func TestLowWaterMarkFollowsTheRate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		window int
		took   time.Duration
		want   int
	}{
		{1 << 20, 100 * time.Millisecond, lowWaterMin},        // 10 MiB/s: 131 KiB
		{1 << 20, 10 * time.Millisecond, 1 << 20 * 5 / 4},     // 100 MiB/s: 1.25 MiB
		{1 << 20, 2 * time.Millisecond, lowWaterMax},          // 500 MiB/s: capped
		{1 << 20, time.Second, lowWaterMin},                   // slow: the floor
		{1 << 20, 0, lowWaterMax},                             // no time at all
		{4 << 20, 25 * time.Millisecond, lowWaterMax / 4 * 2}, // 160 MiB/s: 2 MiB
		{4 << 20, 12500 * time.Microsecond, lowWaterMax},      // 320 MiB/s: 4 MiB
	} {
		if got := lowWaterMark(c.window, c.took); got != c.want {
			t.Errorf("lowWaterMark(%d, %v) = %d, want %d", c.window, c.took, got, c.want)
		}
	}
}
