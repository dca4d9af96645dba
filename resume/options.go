package resume

import (
	"context"
	"crypto/tls"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/transfer"
)

// Options configure Get and Put.
type Options struct {
	Timeout     time.Duration // liveness timeout; 0 means control.DefaultTimeout
	Keepalive   time.Duration // NOOP interval; 0 means Timeout/4
	NoKeepalive bool          // send no NOOP during transfers
	RateLimit   int64         // bytes per second, 0 for none
	TLS         *tls.Config   // for ftps/ftpes; certificates verified unless it says otherwise
	PartSuffix  string        // default DefaultPartSuffix
	Policy      Policy        // zero value: DefaultPolicy
	NoVerify    bool          // skip the final hash check (sizes are always checked)
	Fresh       bool          // ignore and replace any partial download
	NoMtime     bool          // do not set the local file's time from the server's

	Progress func(done, total int64)          // bytes of the file done so far, and its size (-1 unknown)
	Events   func(Event)                      // what happens, for logs and JSON events
	Logf     func(format string, args ...any) // notes for a human
	ProtoLog func(format string, args ...any) // the protocol log (-v); passwords masked
	Noops    *noop.Registry
}

func (o *Options) policy() Policy {
	if o.Policy.Retries == 0 && o.Policy.MaxAttempts == 0 {
		return DefaultPolicy
	}
	return o.Policy
}

func (o *Options) event(e Event) {
	if o.Events != nil {
		o.Events(e)
	}
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

func (o *Options) transferOptions(base, total int64) transfer.Options {
	to := transfer.Options{
		Timeout:     o.Timeout,
		Keepalive:   o.Keepalive,
		NoKeepalive: o.NoKeepalive,
		Noops:       o.Noops,
		Limiter:     transfer.NewLimiter(o.RateLimit),
		Logf:        o.Logf,
	}
	if o.Progress != nil {
		to.Progress = func(n int64) { o.Progress(base+n, total) }
	}
	return to
}

func (o *Options) dial(ctx context.Context, t Target) (*control.Conn, error) {
	return control.Dial(ctx, t.Addr, control.Config{
		User:     t.User,
		Password: t.Password,
		Timeout:  o.Timeout,
		TLSMode:  t.TLSMode,
		TLS:      o.TLS,
		Logf:     o.ProtoLog,
	})
}
