// Package control is keepftp's FTP control-connection engine: the mechanism,
// not the policy.
//
// A Conn dials a server (plain, explicit AUTH TLS or implicit TLS), logs in and
// then owns the connection with exactly one reader goroutine that parses
// replies with net/textproto. Commands are written under one lock, so a
// keepalive may write NOOP while a transfer runs, and every reply is routed to
// what is waiting for it:
//
//   - Outside a transfer, commands run in lockstep (Cmd): one command, one
//     reply.
//   - During a transfer (Transfer), the reader routes replies itself: a 1xx is
//     the transfer's preliminary reply, NOOP replies (200, and 500/501/502
//     while NOOPs are outstanding) go to the keepalive, and only the rest can
//     end the transfer. A 200 can never complete a RETR.
//   - After a transfer during which NOOPs were written, Resync sends PWD and
//     discards everything before its 257, because servers answer NOOPs before
//     the 226, after it, or never (vsftpd and proftpd after, pyftpdlib and
//     pure-ftpd at once, pure-ftpd sometimes not at all).
//
// Liveness is "the last time anything arrived". A command whose reply does
// not come while nothing at all arrives for the configured timeout fails with
// ErrPeerDown; it never hangs. TCP keepalive and TCP_USER_TIMEOUT on every
// socket are derived from the same timeout.
//
// When to send NOOP, when to retry and what to do with a failure are decided
// by the packages above (noop, transfer, resume).
package control
