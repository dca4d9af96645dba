package main

import (
	"context"
	"errors"

	"github.com/keepftp/keepftp"
)

// Exit codes: one per class of outcome, stable for scripts (README lists
// them).
const (
	ExitOK          = 0
	ExitFailure     = 1 // a failure of no other class
	ExitUsage       = 2 // bad command line or URL
	ExitLogin       = 3 // the server refused the login
	ExitNotFound    = 4 // the remote file does not exist
	ExitGaveUp      = 5 // gave up after retries (network errors, peer down, stalls, 4xx)
	ExitVerify      = 6 // the result did not verify, or a stream could not be continued
	ExitLocal       = 7 // the local file could not be read or written (disk full, permission)
	ExitRefused     = 8 // the server refused for good (a 5xx other than login or not found; TLS verification)
	ExitPartial     = 9 // a batch in which some files failed or were left out (the summary names them); ls with bad lines
	ExitInterrupted = 130
)

// exitCodesHelp is the exit codes as the help and the manual page list
// them (README.md has the same table).
const exitCodesHelp = `Exit codes: 0 success; 1 failure of no other class; 2 bad command line, URL or
proxy URL; 3 login refused; 4 remote file not found; 5 gave up after retries;
6 verification failed (size or hash differs, or a stream a retry could not continue),
and with --require-verified a file nothing could check (no SIZE, no hash), which stays
NAME.part; 7 local file error; 8 refused by the server for good; 9 a batch (several
files, -i, mirror) in which some files failed or were left out, or ls with lines it
could not parse; 130 interrupted.`

// usageError marks command-line mistakes.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitCode maps an error to the exit code of its class. The classes are
// the library's (keepftp.Classify); the command line adds its own two: a
// usageError, and a batch in which some files failed.
func exitCode(ctx context.Context, err error) int {
	var ue usageError
	class := keepftp.Classify(err)
	if errors.As(err, &ue) || class == keepftp.BadURL {
		return ExitUsage
	}
	if ctx.Err() != nil {
		return ExitInterrupted
	}
	if isBatchError(err) {
		return ExitPartial
	}
	switch class {
	case keepftp.Intentional:
		return ExitInterrupted
	case keepftp.LeftOut:
		return ExitPartial
	case keepftp.LoginFailed:
		return ExitLogin
	case keepftp.NotFound:
		return ExitNotFound
	case keepftp.LocalFailed:
		return ExitLocal
	case keepftp.VerifyFailed:
		return ExitVerify
	case keepftp.Transient:
		return ExitGaveUp
	case keepftp.Permanent:
		return ExitRefused
	}
	return ExitFailure
}
