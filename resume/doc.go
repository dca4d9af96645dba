// Package resume turns one-attempt transfers (package transfer) into
// transfers that finish or stop with a clear reason: it classifies errors,
// reconnects with bounded backoff, restarts at a verified offset, verifies
// the result and writes files atomically (NAME.part, fsync, rename).
//
// Nothing about a stream that broke is assumed: every new attempt re-checks
// the remote file before it continues.
package resume
