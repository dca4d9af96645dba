// Package testserver provides the FTP peers keepftp's tests run against:
// an embedded FTP server (ftpserverlib over afero) with fault injection,
// and a TCP middlebox that can sit in front of any FTP server and behave
// like NAT/firewall state that expires on an idle control connection.
//
// Everything runs over real TCP on 127.0.0.1, because the behaviour under
// test (NOOP replies racing a transfer's final reply, data connections
// reset mid-transfer, control flows silently dropped by a middlebox) only
// exists at the network level. The server reproduces the NOOP behaviours
// of real servers, as docs/servers.md records them (vsftpd and
// proftpd queue NOOP until the transfer ends, pyftpdlib answers 200 at
// once, pure-ftpd answers 500 or loses replies).
//
// With Options.TLS (SelfSignedTLS makes a certificate) the server also
// speaks FTPS, explicit (AUTH TLS) or implicit (Options.ImplicitTLS). NOOP
// styles, faults and the shim's counters apply to plain sessions only: an
// encrypted session cannot be read on the way.
//
// This package deliberately imports no other package of the module, so
// that it tests keepftp from the outside like a real server would.
package testserver
