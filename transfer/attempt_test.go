package transfer

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
)

// dial logs in to a scripted server over net.Pipe with the given timeout.
func dial(t *testing.T, timeout time.Duration) (*ftptest.Server, *control.Conn) {
	t.Helper()
	fs, d := ftptest.New(t)
	loggedIn := make(chan struct{})
	go func() { fs.Login(); close(loggedIn) }()
	c, err := control.Dial(t.Context(), "127.0.0.1:21", control.Config{Timeout: timeout, DialContext: d})
	if err != nil {
		t.Fatal(err)
	}
	<-loggedIn
	t.Cleanup(func() { c.Close() })
	return fs, c
}

// TestNoopEveryQuarterTimeoutDuringTransfer: with an 8 s timeout, a 20 s
// download gets a NOOP every 2 s of control silence, while data flows.
func TestNoopEveryQuarterTimeoutDuringTransfer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, c := dial(t, 8*time.Second)
		var mu sync.Mutex
		var noopsAt []time.Duration
		var start time.Time
		go func() {
			d := fs.OpenRetr("/f")
			start = time.Now()
			go func() {
				for {
					cmd := fs.ReadCmd()
					if cmd == "PWD" { // the resync after the transfer
						fs.Send(`257 "/"`)
						return
					}
					mu.Lock()
					noopsAt = append(noopsAt, time.Since(start))
					mu.Unlock()
				}
			}()
			for i := 0; i < 20; i++ {
				d.Write([]byte("x"))
				time.Sleep(time.Second)
			}
			d.Close()
			fs.Send("226 ok")
		}()
		var buf bytes.Buffer
		res, err := Download(t.Context(), c, "/f", 0, 20, &buf, Options{Noops: &noop.Registry{}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Bytes != 20 || !res.DataEOF || res.Final.Code != 226 {
			t.Fatalf("res = %+v", res)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(noopsAt) != 10 {
			t.Fatalf("NOOPs at %v, want 10 (every 2 s for 20 s)", noopsAt)
		}
		for i, at := range noopsAt {
			if want := time.Duration(i+1) * 2 * time.Second; at != want {
				t.Errorf("NOOP %d at %v, want %v", i, at, want)
			}
		}
	})
}

func TestStallDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, c := dial(t, 8*time.Second)
		go func() {
			d := fs.OpenRetr("/f")
			time.Sleep(3 * time.Second)
			d.Write([]byte("some"))
			// and nothing more, data connection kept open
		}()
		start := time.Now()
		res, err := Download(t.Context(), c, "/f", 0, 100, new(bytes.Buffer), Options{NoKeepalive: true})
		if !errors.Is(err, ErrStalled) {
			t.Fatalf("err = %v, want ErrStalled", err)
		}
		if d := time.Since(start); d != 11*time.Second {
			t.Errorf("stalled after %v, want 11s (last data at 3s + 8s)", d)
		}
		if res.Bytes != 4 {
			t.Errorf("bytes = %d, want 4", res.Bytes)
		}
	})
}

// With keepalive off and the final reply lost (a NAT dropped the silent
// control flow), the attempt ends one timeout after the data's end with
// ErrNoFinalReply and ErrPeerDown, and says all the data arrived.
func TestLostFinalReply(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, c := dial(t, 8*time.Second)
		go func() {
			d := fs.OpenRetr("/f")
			for _, b := range []byte("complete") {
				time.Sleep(3 * time.Second)
				d.Write([]byte{b})
			}
			d.Close()
		}()
		start := time.Now()
		res, err := Download(t.Context(), c, "/f", 0, 8, new(bytes.Buffer), Options{NoKeepalive: true})
		if !errors.Is(err, ErrNoFinalReply) || !errors.Is(err, control.ErrPeerDown) {
			t.Fatalf("err = %v, want ErrNoFinalReply and ErrPeerDown", err)
		}
		if d := time.Since(start); d != 32*time.Second {
			t.Errorf("ended after %v, want 32s (data end at 24s + 8s)", d)
		}
		if !res.DataEOF || res.Bytes != 8 {
			t.Errorf("res = %+v, want the data complete", res)
		}
	})
}

// The final reply may come before the last data was read: the attempt goes
// on to the data's end.
func TestFinalBeforeDataEnd(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, c := dial(t, 8*time.Second)
		go func() {
			d := fs.OpenRetr("/f")
			fs.Send("226 all sent")
			time.Sleep(5 * time.Second)
			d.Write([]byte("late bytes"))
			d.Close()
		}()
		var buf bytes.Buffer
		res, err := Download(t.Context(), c, "/f", 0, 10, &buf, Options{NoKeepalive: true})
		if err != nil || buf.String() != "late bytes" {
			t.Fatalf("err = %v, data %q, res %+v", err, buf.String(), res)
		}
	})
}

func TestFailureVerdicts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		data  string
		final string
		want  int64
		check func(error) bool
	}{
		{"final 150 is a failure", "abc", "150 0.333 seconds (measured here)", 3, func(err error) bool { return control.IsCode(err, 150) }},
		{"short count with 226 is a failure", "abc", "226 ok", 10, func(err error) bool { return errors.Is(err, ErrShort) }},
		{"426 is a failure", "abc", "426 Connection closed; transfer aborted", 10, func(err error) bool { return control.IsTransient(err) }},
		{"complete", "abcdefghij", "226 ok", 10, func(err error) bool { return err == nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fs, c := dial(t, 8*time.Second)
				go func() {
					d := fs.OpenRetr("/f")
					d.Write([]byte(tc.data))
					d.Close()
					fs.Send(tc.final)
				}()
				_, err := Download(t.Context(), c, "/f", 0, tc.want, new(bytes.Buffer), Options{NoKeepalive: true})
				if !tc.check(err) {
					t.Errorf("err = %v", err)
				}
			})
		})
	}
}

// Cancelling closes the data connection first, then sends ABOR, and
// returns the context's error: never something a retry would act on.
func TestCancelClosesDataThenAbor(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, c := dial(t, 8*time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		var order []string
		done := make(chan struct{})
		go func() {
			defer close(done)
			d := fs.OpenRetr("/f")
			d.Write([]byte("x"))
			cancel()
			buf := make([]byte, 1)
			_, err := d.Read(buf) // returns when the client closes it
			order = append(order, "data closed: "+errString(err))
			order = append(order, fs.ReadCmd())
			fs.Send("426 aborted", "226 ABOR ok")
			fs.Serve("PWD", `257 "/"`)
		}()
		_, err := Download(ctx, c, "/f", 0, 100, new(bytes.Buffer), Options{NoKeepalive: true})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		<-done
		if len(order) != 2 || !strings.HasPrefix(order[0], "data closed") || order[1] != "ABOR" {
			t.Errorf("server saw %q, want the data closed, then ABOR", order)
		}
	})
}

// Cancelling (Ctrl-C) while the server stalls the data, and never answers
// the ABOR either: the attempt returns one abortGrace after the cancel,
// within the command line's 1.5 s grace after a signal. (It waited 5 s.)
func TestCancelSilentServerReturnsAfterAbortGrace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, c := dial(t, 8*time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			d := fs.OpenRetr("/f")
			d.Write([]byte("x"))
			time.Sleep(3 * time.Second)
			cancel()
			fs.ReadCmd() // ABOR, never answered
		}()
		start := time.Now()
		_, err := Download(ctx, c, "/f", 0, 100, new(bytes.Buffer), Options{NoKeepalive: true})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d != 3*time.Second+abortGrace {
			t.Errorf("returned after %v, want the cancel at 3s + %v", d, abortGrace)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// Cancelling after the data ended, while the final reply is awaited, must
// return at once (the pump has already finished).
func TestCancelAfterDataEnd(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, c := dial(t, 8*time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			d := fs.OpenRetr("/f")
			d.Write([]byte("all"))
			d.Close()
			time.Sleep(2 * time.Second) // no final reply yet
			cancel()
			fs.ReadCmd() // ABOR
			fs.Send("226 done")
			fs.Serve("PWD", `257 "/"`)
		}()
		start := time.Now()
		_, err := Download(ctx, c, "/f", 0, 3, new(bytes.Buffer), Options{NoKeepalive: true})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("returned after %v, want 2s (at the cancel)", d)
		}
	})
}
