package resume

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/transfer"
)

// Options configure Get.
type Options struct {
	Timeout     time.Duration // liveness timeout; 0 means control.DefaultTimeout
	Keepalive   time.Duration // NOOP interval; 0 means Timeout/4
	NoKeepalive bool          // send no NOOP during transfers
	RateLimit   int64         // bytes per second, 0 for none
	TLS         *tls.Config   // for ftps/ftpes; certificates verified unless it says otherwise
	PartSuffix  string        // default DefaultPartSuffix

	Progress func(done, total int64) // bytes of the file present locally, and its size (-1 unknown)
	Logf     func(format string, args ...any)
	ProtoLog func(format string, args ...any) // the protocol log (-v); passwords masked
	Noops    *noop.Registry
}

// Outcome is what Get did.
type Outcome struct {
	Size     int64 // bytes in the local file
	Attempts int
	Received int64 // bytes received over the network, all attempts
}

// ErrNotFound reports that the remote file does not exist.
var ErrNotFound = errors.New("remote file not found")

// Get downloads t to the local path dst ("-" for standard output).
func Get(ctx context.Context, t Target, dst string, o Options) (Outcome, error) {
	var out Outcome
	c, err := dial(ctx, t, o)
	if err != nil {
		return out, err
	}
	defer c.Quit(context.WithoutCancel(ctx))
	size, err := c.Size(ctx, t.Path)
	switch {
	case control.IsCode(err, 550):
		return out, fmt.Errorf("%s: %w", t, ErrNotFound)
	case control.IsPermanent(err):
		size = -1 // SIZE not supported: the byte count cannot be checked
	case err != nil:
		return out, err
	}
	var w io.Writer
	var f *os.File
	if dst == "-" {
		w = os.Stdout
	} else {
		suffix := o.PartSuffix
		if suffix == "" {
			suffix = DefaultPartSuffix
		}
		f, err = os.OpenFile(dst+suffix, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return out, &transfer.LocalError{Err: err}
		}
		defer f.Close()
		w = f
	}
	topts := transfer.Options{
		Timeout:     o.Timeout,
		Keepalive:   o.Keepalive,
		NoKeepalive: o.NoKeepalive,
		Noops:       o.Noops,
		Limiter:     transfer.NewLimiter(o.RateLimit),
		Logf:        o.Logf,
	}
	if o.Progress != nil {
		topts.Progress = func(n int64) { o.Progress(n, size) }
	}
	out.Attempts++
	res, err := transfer.Download(ctx, c, t.Path, 0, size, w, topts)
	out.Received += res.Bytes
	out.Size = res.Bytes
	if err != nil {
		return out, err
	}
	if f != nil {
		if err := commit(f, dst); err != nil {
			return out, &transfer.LocalError{Err: err}
		}
	}
	return out, nil
}

func dial(ctx context.Context, t Target, o Options) (*control.Conn, error) {
	return control.Dial(ctx, t.Addr, control.Config{
		User:     t.User,
		Password: t.Password,
		Timeout:  o.Timeout,
		TLSMode:  t.TLSMode,
		TLS:      o.TLS,
		Logf:     o.ProtoLog,
	})
}
