// Package control is keepftp's FTP control-connection engine: the mechanism,
// not the policy.
//
// A Conn dials a server (plain, explicit AUTH TLS or implicit TLS), logs in and
// then owns the connection with exactly one reader goroutine. Commands are
// built here, and only here, from a verb and an argument: an argument with CR,
// LF or NUL is refused (ErrInvalidArgument) before anything is written, so no
// path, name or password can smuggle a second command. Commands are written
// under one lock, so a keepalive may write NOOP while a transfer runs, and
// every reply is routed to what is waiting for it:
//
//   - Outside a transfer, commands run in lockstep (Cmd, or a pipelined Batch):
//     one reply per command, in order.
//   - During a transfer (Transfer), the reader routes replies itself: a 1xx is
//     the transfer's preliminary reply, NOOP replies (200, and 500/501/502
//     while NOOPs are outstanding) go to the keepalive, and only the rest can
//     end the transfer. A 200 can never complete a RETR.
//   - After a transfer during which NOOPs were written, Resync sends PWD and
//     discards everything before its 257, because servers answer NOOPs before
//     the 226, after it, or never (vsftpd and proftpd after, pyftpdlib and
//     pure-ftpd at once, pure-ftpd sometimes not at all).
//   - On a server that answers commands written at a download's data end
//     after its final reply (Deferral, behind.go), the check after the
//     transfer, the next file's look and EPSV, and even its RETR
//     (retrbehind.go) go there. A RETR written so is owed until the next
//     StartTransfer of it takes it over; anything else settles it first
//     (its refusal read, or the transfer started and aborted), and a
//     connection that cannot be settled is closed.
//
// The reader never waits for anyone. A reply that belongs to nothing (one
// that arrives when no command waits and none is owed, a 226 or a 1xx to
// SIZE, a 220 to USER, a 2xx to RETR before its 1xx) means the replies are
// out of step with the commands: the connection ends with ErrDesync, and a
// fresh one is the way back. A whole reply is capped at 1000 lines and
// 1 MiB, a line at 64 KiB (ErrMalformedReply names the cap).
//
// Every wait is bounded by the timeout. A command's reply must be complete
// within the timeout of its write, however many bytes of it trickle in; a
// transfer's data and final reply are bounded by the layer above (transfer),
// where a silent control connection is normal. A command that misses its
// deadline fails with ErrPeerDown and closes the connection; it never hangs.
// TCP keepalive and TCP_USER_TIMEOUT on every socket derive from the same
// timeout.
//
// Data connections are passive (EPSV, then PASV) unless Config.Active:
// then the server connects to a port we announce with EPRT or PORT, and
// only the control connection's peer may (active.go). What a connection
// learned about the server (EPSV or MLSD refused, a death after a known
// silence, the TLS version) is reported as facts (learned.go); keeping
// them across sessions is the business of the layers above.
//
// Under FTPS (tls.go, tlsdata.go, certs.go) every control connection holds
// its own TLS session store: data connections resume the control
// connection's session, as servers requiring session reuse demand, and a
// ticket that arrives on a data connection never replaces it. An upload's
// data connection ends with close_notify and a bounded read to the
// server's end, so that the server sees neither a truncation nor a reset.
// A refused certificate is a *CertError naming the cause and the
// certificate's SHA-256 fingerprint; TLSOptions builds the tls.Config from
// a CA file, a client certificate, public key pins and a version cap.
//
// When to send NOOP, when to retry and what to do with a failure are decided
// by the packages above (noop, transfer, resume).
package control
