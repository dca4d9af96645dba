// Package proxytest runs a SOCKS5 or HTTP CONNECT proxy on loopback for
// tests: with or without a login, refusing on demand, and closing tunnels
// idle longer than a timer, as tinyproxy's Timeout and dante's timeout.io
// do. It records every tunnel: what it was asked for, and whether its idle
// timer closed it.
package proxytest
