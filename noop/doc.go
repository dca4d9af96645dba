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
// pyftpdlib aborts (docs/servers.md). A server that does abort a transfer (or
// closes the control connection) in answer to a NOOP gets no more
// in-transfer NOOPs for the life of the process, and it is logged once;
// Registry.Remember carries that over from an earlier run's profile.
package noop
