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
// The packages below it are the layers: resume (attempts, backoff,
// verification), transfer (one attempt), noop (keepalive policy) and
// control (the FTP control connection).
package keepftp
