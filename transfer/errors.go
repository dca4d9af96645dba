package transfer

import (
	"errors"
	"fmt"
)

// ErrStalled reports that no data moved on the data connection for the
// timeout.
var ErrStalled = errors.New("data stalled: no bytes for the timeout")

// ErrShort reports a transfer whose byte count differs from the expected
// size although the server said it was complete (or said nothing clear).
var ErrShort = errors.New("byte count differs from the file size")

// ErrOverlap reports that a resumed download's first bytes differ from the
// local data they must repeat: the server ignored REST, or the remote file
// changed. The partial file cannot be continued.
var ErrOverlap = errors.New("resumed data does not match the local file")

// ErrTooLong reports data beyond the expected size: a server that ignored
// REST sends the whole file. Nothing past the expected size is written.
var ErrTooLong = errors.New("more data than the file's size")

// ErrNoFinalReply reports that the data connection reached its end but the
// final reply never came (the control connection died or went silent).
// Result.DataEOF tells whether all the data may have arrived: the resume
// layer verifies instead of downloading again.
var ErrNoFinalReply = errors.New("no final reply")

// LocalError is a failure of the local side (disk full, permission), not of
// the network or the server: retrying will not help.
type LocalError struct{ Err error }

func (e *LocalError) Error() string { return fmt.Sprintf("local file: %v", e.Err) }
func (e *LocalError) Unwrap() error { return e.Err }
