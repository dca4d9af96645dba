// Package interop holds the scenario matrix: every scenario keepftp must
// survive, run against vsftpd, proftpd, pure-ftpd, pyftpdlib and the
// embedded testserver, each through the NAT-like middlebox where a fault
// is needed; and the same scenarios over FTPS on the real servers
// requiring TLS, where the middlebox forwards the encrypted control
// connection as bytes and data connections go direct through a dialer
// that counts and cuts them (ftptest.DataFaults). Two rows go through real
// proxies (dante for SOCKS5, tinyproxy for CONNECT, both demanding a
// login), and TestProxyIdleTunnel outlasts their idle timers. It has tests
// only.
package interop
