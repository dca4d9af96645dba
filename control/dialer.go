package control

import (
	"net"
	"syscall"
	"time"
)

// DefaultTimeout is the liveness timeout used when Config.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// keepAliveFor derives TCP keepalive from the liveness timeout: first probe
// after half the timeout, then probes every eighth, four of them, so a dead
// peer is found by the kernel after about one timeout even when the
// application is not waiting for anything.
func keepAliveFor(timeout time.Duration) net.KeepAliveConfig {
	sec := func(d time.Duration) time.Duration { return max(time.Second, d.Truncate(time.Second)) }
	return net.KeepAliveConfig{
		Enable:   true,
		Idle:     sec(timeout / 2),
		Interval: sec(timeout / 8),
		Count:    4,
	}
}

// newDialer returns the dialer for control and data connections: TCP
// keepalive and TCP_USER_TIMEOUT derived from the same timeout.
func newDialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{
		Timeout:         timeout,
		KeepAliveConfig: keepAliveFor(timeout),
		Control: func(_, _ string, c syscall.RawConn) error {
			return setUserTimeout(c, timeout)
		},
	}
}
