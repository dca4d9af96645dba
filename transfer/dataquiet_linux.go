package transfer

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// dataQuiet returns how long ago the kernel last received data on c (a
// download's data connection) or sent new data on it (an upload's), from
// TCP_INFO; ok is false when it cannot tell. It sees past TLS to the
// socket.
func dataQuiet(c net.Conn, download bool) (quiet time.Duration, ok bool) {
	for {
		u, wraps := c.(interface{ NetConn() net.Conn })
		if !wraps {
			break
		}
		c = u.NetConn()
	}
	sc, isSys := c.(syscall.Conn)
	if !isSys {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info *unix.TCPInfo
	var ierr error
	if err := raw.Control(func(fd uintptr) {
		info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || ierr != nil {
		return 0, false
	}
	ms := info.Last_data_recv
	if !download {
		ms = info.Last_data_sent
	}
	return time.Duration(ms) * time.Millisecond, true
}
