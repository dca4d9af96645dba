// Package interop holds the scenario matrix: every scenario keepftp must
// survive, run against vsftpd, proftpd, pure-ftpd, pyftpdlib and the
// embedded testserver, each through the NAT-like middlebox where a fault
// is needed. It has tests only.
package interop
