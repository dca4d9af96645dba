// Package keepftp is an FTP client that never loses a long transfer.
//
// A Client downloads and uploads files, lists and mirrors directories. It
// keeps the control connection alive with NOOPs while data flows (so a NAT
// does not drop it), finds a dead server in bounded time, reconnects with
// bounded backoff, resumes at a verified offset, verifies the result and
// writes files atomically. A Client is safe for concurrent use: it pools
// control connections per server, at most MaxConns at once, and reuses
// them between files.
//
// Batches and mirrors spend few round trips per file: the listing's facts
// stand in for SIZE and MDTM before a transfer where they are precise
// (MLSD), the check after it is one round trip (MLST, or SIZE and MDTM
// written together), and TYPE and FEAT are sent once per pooled
// connection. The check after each transfer is what catches a file that
// changed since the listing or during the transfer (see package resume).
// A mirror keeps its partial files in its own StagingDir, apart from the
// files it copies, and copies everything it can: what it cannot is
// reported as a result wrapping ErrLeftOut.
//
// A mirror runs either way (Mirror downloads, MirrorUp uploads) on one
// engine: PlanMirror lists both sides and decides, changing nothing, what
// to copy and why, what is up to date and by which rule; RunPlan does it.
// Uploads, of put and of the upload mirror, are atomic: written to a
// temporary in the target folder (resume.UploadPartName), verified, given
// the local file's time, then renamed.
//
// Options.Filter chooses the names of a tree (a mirror's, a pattern's):
// include and exclude globs, first match wins, and bounds on size and
// time (see Filter). Options.RemoveSource makes each copy a move: the
// source of a verified copy, and only of a verified one, is removed.
//
// A program imports this package alone: the types it needs (Target,
// Outcome, Entry, Event and its EventKind, TransferOptions, RetryPolicy,
// TLSOptions) are here, Classify sorts every error into an ErrorClass,
// and Options.Logf takes a Client's notes (no package-level state is
// changed). The packages below it are the layers: resume (attempts, backoff,
// verification), transfer (one attempt), noop (keepalive policy) and
// control (the FTP control connection).
package keepftp
