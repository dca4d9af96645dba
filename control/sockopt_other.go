//go:build !linux

package control

import (
	"errors"
	"syscall"
	"time"
)

// setUserTimeout is a no-op where TCP_USER_TIMEOUT does not exist; TCP
// keepalive and the application-level liveness still bound every wait.
func setUserTimeout(syscall.RawConn, time.Duration) error { return nil }

// setReadLowWater is not offered here: the reader is woken for every byte.
func setReadLowWater(syscall.RawConn, int) error { return errors.ErrUnsupported }
