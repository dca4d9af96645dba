package resume

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/transfer"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	reply := func(code int) error { return &control.ReplyError{Cmd: "RETR f", Code: code, Msg: "x"} }
	wrap := func(err error) error { return fmt.Errorf("attempt: %w", err) }
	for _, tc := range []struct {
		err  error
		want Class
	}{
		{context.Canceled, Intentional},
		{wrap(context.Canceled), Intentional},
		{control.ErrClosed, Intentional},
		{reply(530), Login},
		{reply(550), NotFound},
		{wrap(control.ErrNotFound), NotFound},
		{reply(553), Permanent},
		{reply(500), Permanent},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, Permanent},
		{wrap(control.ErrBadListing), Permanent},
		{wrap(&transfer.LocalError{Err: syscall.ENOSPC}), Local},
		{wrap(ErrVerify), Verify},
		{reply(421), Transient},
		{reply(425), Transient},
		{reply(426), Transient},
		{reply(450), Transient},
		{reply(451), Transient},
		{reply(150), Transient}, // pure-ftpd's final 150
		{wrap(control.ErrPeerDown), Transient},
		{fmt.Errorf("%w: %w", transfer.ErrNoFinalReply, control.ErrPeerDown), Transient},
		{wrap(transfer.ErrStalled), Transient},
		{wrap(transfer.ErrShort), Transient},
		{wrap(syscall.ECONNRESET), Transient},
		{io.ErrUnexpectedEOF, Transient},
		{fmt.Errorf("%w: %w", errRestart, reply(550)), Transient}, // REST refused: restart, not stop
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if errors.Is(control.ErrPeerDown, control.ErrClosed) {
		t.Fatal("peer down must not count as our own close")
	}
}
