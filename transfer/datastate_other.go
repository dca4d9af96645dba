//go:build !linux

package transfer

import (
	"net"
	"time"
)

// dataQuiet cannot ask the kernel here: progress reports alone tell when
// data last moved.
func dataQuiet(net.Conn, bool) (time.Duration, bool) { return 0, false }

// dataReset cannot ask the kernel here: the pump's error alone tells of a
// reset.
func dataReset(net.Conn) bool { return false }
