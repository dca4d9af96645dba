//go:build !linux

package control

import (
	"syscall"
	"time"
)

// setUserTimeout is a no-op where TCP_USER_TIMEOUT does not exist; TCP
// keepalive and the application-level liveness still bound every wait.
func setUserTimeout(syscall.RawConn, time.Duration) error { return nil }
