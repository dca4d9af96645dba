package control

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// recordConn is a net.Conn that keeps what is written to it.
type recordConn struct {
	net.Conn // nil: only Write and SetWriteDeadline are used
	wire     bytes.Buffer
}

func (r *recordConn) Write(p []byte) (int, error)      { return r.wire.Write(p) }
func (r *recordConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzCommand drives the command builder and the writer with any verb and
// argument: what reaches the wire is either nothing (ErrInvalidArgument) or
// exactly one line, "VERB" or "VERB ARG", ended by the one CRLF, with no
// CR, LF or NUL inside. A plain verb with a clean argument is never
// refused.
func FuzzCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, verb, arg string) {
		rec := &recordConn{}
		c := &Conn{nc: rec, w: bufio.NewWriter(rec), timeout: time.Second, done: make(chan struct{})}
		cl, err := newCmd(verb, arg)
		if err == nil {
			err = c.writeLine(cl)
		}
		wire := rec.wire.String()
		clean := !strings.ContainsAny(arg, "\r\n\x00") && checkVerb(verb) == nil
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("(%q, %q): error %v is not ErrInvalidArgument", verb, arg, err)
			}
			if wire != "" {
				t.Fatalf("(%q, %q) refused, yet %q was written", verb, arg, wire)
			}
			if clean {
				t.Fatalf("(%q, %q) refused though clean: %v", verb, arg, err)
			}
			if isSecretVerb(verb) && arg != "" && strings.Contains(err.Error(), arg) {
				t.Fatalf("(%q, %q): error %q shows the secret", verb, arg, err)
			}
			return
		}
		if !clean {
			t.Fatalf("(%q, %q) accepted: %q", verb, arg, wire)
		}
		line, ok := strings.CutSuffix(wire, "\r\n")
		if !ok || strings.ContainsAny(line, "\r\n\x00") {
			t.Fatalf("(%q, %q) wrote %q: not exactly one line", verb, arg, wire)
		}
		want := verb
		if arg != "" {
			want += " " + arg
		}
		if line != want {
			t.Fatalf("(%q, %q) wrote %q, want %q", verb, arg, line, want)
		}
	})
}
