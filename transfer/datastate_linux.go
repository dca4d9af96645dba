package transfer

// What the kernel knows of a data connection (TCP_INFO): when data last
// moved on it, and whether a reset came that the pump has not read yet.

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
	info := tcpInfo(c)
	if info == nil {
		return 0, false
	}
	ms := info.Last_data_recv
	if !download {
		ms = info.Last_data_sent
	}
	return time.Duration(ms) * time.Millisecond, true
}

// dataReset reports whether the kernel has taken a reset on c: its TCP
// state is CLOSE while keepftp has not closed it. The kernel takes a
// reset when it arrives, while the pump that would read it as an error
// may not have run yet on a loaded client.
func dataReset(c net.Conn) bool {
	info := tcpInfo(c)
	return info != nil && info.State == tcpClose
}

// tcpClose is TCP_CLOSE of linux/tcp_states.h (x/sys/unix names it only
// as BPF_TCP_CLOSE).
const tcpClose = unix.BPF_TCP_CLOSE

// tcpInfo is c's TCP_INFO, seen past TLS to the socket; nil when it
// cannot be had.
func tcpInfo(c net.Conn) *unix.TCPInfo {
	for {
		u, wraps := c.(interface{ NetConn() net.Conn })
		if !wraps {
			break
		}
		c = u.NetConn()
	}
	sc, isSys := c.(syscall.Conn)
	if !isSys {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var info *unix.TCPInfo
	var ierr error
	if err := raw.Control(func(fd uintptr) {
		info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || ierr != nil {
		return nil
	}
	return info
}
