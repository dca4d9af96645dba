// Package noop is keepftp's keepalive policy: when a NOOP is due on the
// control connection, what counts as activity, and what each server has
// shown about NOOPs during transfers.
//
// The rule is Ouroboros's for flow liveness: send at a quarter of the
// timeout, so that three keepalives can be lost before the peer (or a NAT
// between us) gives up on a flow that is silent for a whole timeout. A NOOP
// is due when nothing was written on the control connection for one
// interval; data flowing on the data connection does not count, because a
// middlebox times out the control flow on its own.
//
// Servers answer NOOPs during a transfer at once, only after the final
// reply, with 500, or not at all; none of vsftpd, proftpd, pure-ftpd and
// pyftpdlib aborts (docs/servers.md). A server is taken to abort transfers
// on NOOP only on evidence it alone can produce (Ending.ServerAborted: a
// failure reply right after a NOOP while data still flowed, twice in a
// row), never from a stall, a reset, a timeout or a connection that
// vanished, which a path produces as well. It then gets no more
// in-transfer NOOPs for the life of the process, and it is logged once;
// Registry.Remember carries that over from an earlier run's profile, to be
// tested again when it is due, and a transfer that completes with a NOOP
// that reached the server while it ran (answered before the final reply,
// or written well before the data's end) clears it.
package noop
