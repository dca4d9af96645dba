package transfer

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
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
