package transfer

import (
	"time"

	"github.com/keepftp/keepftp/noop"
	"golang.org/x/time/rate"
)

// Options tune one attempt. The zero value is usable: the connection's
// timeout, keepalive at a quarter of it, no rate limit.
type Options struct {
	// Timeout bounds data silence (ErrStalled) and the wait for the final
	// reply after the data ended. Zero means the connection's timeout.
	Timeout time.Duration

	// Keepalive is the NOOP interval during the transfer; zero means
	// noop.Interval(Timeout). Set NoKeepalive to send none.
	Keepalive   time.Duration
	NoKeepalive bool

	// Noops is the per-server NOOP knowledge; nil means noop.Default.
	Noops *noop.Registry

	// Limiter, if set, limits the data rate (bytes per second). It may be
	// shared by several transfers to limit them together. A rate limit
	// turns off the zero-copy path.
	Limiter *rate.Limiter

	// Progress, if set, is called from the attempt's goroutine with the
	// bytes moved so far in this attempt, whenever data moved (coalesced),
	// and once at the end.
	Progress func(bytes int64)

	// Overlap, for a resumed download, is the local data just before the
	// resume offset: the download was asked to start len(Overlap) bytes
	// early, and its first bytes must equal Overlap (ErrOverlap if not: the
	// server ignored REST or the file changed). They are not written.
	Overlap []byte

	// Logf receives notes on what happened (NOOP behaviour, aborts).
	Logf func(format string, args ...any)

	// Bound, if set, is where a download must stop, and may move closer
	// while it runs (another connection takes the rest: work stealing).
	// A download stopped by it ends like a range at its end: the data
	// connection is closed, the transfer aborted, and the attempt
	// succeeds with the bytes up to there.
	Bound Bound
}

// A Bound is the end of a download that another goroutine may move closer
// while the download runs. The data path asks Grant before each read.
type Bound interface {
	// Grant returns how many of the want bytes from file offset pos on the
	// download may read: want, fewer, or 0 when the download ends at pos.
	// What it granted stays granted: the end never moves back before
	// pos plus the grant, so no byte is read by two downloads.
	Grant(pos, want int64) int64
}

// NewLimiter returns a limiter for bytesPerSec, with a burst that lets the
// data path move reasonably sized chunks.
func NewLimiter(bytesPerSec int64) *rate.Limiter {
	if bytesPerSec <= 0 {
		return nil
	}
	burst := int(min(max(bytesPerSec/10, 4<<10), bufSize))
	return rate.NewLimiter(rate.Limit(bytesPerSec), burst)
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

func (o *Options) registry() *noop.Registry {
	if o.Noops != nil {
		return o.Noops
	}
	return noop.Default
}
