package control

import (
	"context"
	"errors"
	"github.com/keepftp/keepftp/internal/ftptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func dialFake(t *testing.T, fs *ftptest.Server, cfg Config) *Conn {
	t.Helper()
	loggedIn := make(chan struct{})
	go func() { fs.Login(); close(loggedIn) }()
	c, err := Dial(t.Context(), "127.0.0.1:21", cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	<-loggedIn // the script's writer is not shared across goroutines
	t.Cleanup(func() { c.Close() })
	return c
}

func TestLoginParsesMultiLineFeat(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		c := dialFake(t, fs, cfg)
		f := c.Features()
		for _, name := range []string{"MDTM", "REST", "SIZE", "MLST"} {
			if !f.Has(name) {
				t.Errorf("feature %s missing from %v", name, f)
			}
		}
		if f["REST"] != "STREAM" {
			t.Errorf("REST params = %q, want STREAM", f["REST"])
		}
		if f.Has("Features:") || f.Has("End") {
			t.Errorf("free text taken for a feature: %v", f)
		}
	})
}

func TestMultiLineReplyIsOneReply(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		c := dialFake(t, fs, cfg)
		go func() {
			fs.Serve("STAT", "211-status of server:", "  connected from 127.0.0.1", "211-still going", "211 End of status")
			fs.Serve("PWD", `257 "/home/a""b" is current`)
		}()
		rep, err := c.Cmd(t.Context(), 211, "STAT", "")
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Lines(); len(got) != 4 || got[3] != "End of status" {
			t.Errorf("STAT lines = %q", got)
		}
		dir, err := c.Pwd(t.Context())
		if err != nil || dir != `/home/a"b` {
			t.Errorf("Pwd = %q, %v; want /home/a\"b", dir, err)
		}
	})
}

func TestCmdPeerDownAfterTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		cfg.Timeout = 8 * time.Second
		c := dialFake(t, fs, cfg)
		go fs.Expect("PWD") // and never answer
		start := time.Now()
		_, err := c.Cmd(t.Context(), 257, "PWD", "")
		if !errors.Is(err, ErrPeerDown) {
			t.Fatalf("err = %v, want ErrPeerDown", err)
		}
		if d := time.Since(start); d != 8*time.Second {
			t.Errorf("peer down after %v, want exactly the 8s timeout", d)
		}
		if !errors.Is(c.Err(), ErrPeerDown) {
			t.Errorf("Conn.Err = %v, want ErrPeerDown", c.Err())
		}
	})
}

// TestTrickledReplyFailsAtTimeout: a reply trickled a line (or a byte)
// at a time is a sign of life every few seconds, but the whole reply must
// be in within the timeout of the command's write: the command fails with
// ErrPeerDown at exactly the timeout, and the connection is closed.
func TestTrickledReplyFailsAtTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		pieces []string // sent one every 2 s, for ever
	}{
		{"a line every 2s", []string{"211-line\r\n"}},
		{"a byte every 2s", []string{"2", "1", "3", " ", "1", "2", "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fs, dial := ftptest.New(t)
				cfg := Config{Timeout: 8 * time.Second, DialContext: dial}
				c := dialFake(t, fs, cfg)
				scriptDone := make(chan struct{})
				defer func() { <-scriptDone }()
				go func() {
					defer close(scriptDone)
					fs.Expect("STAT")
					for i := 0; ; i++ {
						time.Sleep(2 * time.Second)
						if _, err := fs.Ctrl.Write([]byte(tc.pieces[i%len(tc.pieces)])); err != nil {
							return // the client gave up and closed
						}
					}
				}()
				start := time.Now()
				_, err := c.Cmd(t.Context(), 211, "STAT", "")
				if !errors.Is(err, ErrPeerDown) || !strings.Contains(err.Error(), "not complete within 8s") {
					t.Fatalf("err = %v, want ErrPeerDown for an incomplete reply", err)
				}
				if d := time.Since(start); d != 8*time.Second {
					t.Errorf("failed after %v, want exactly the 8s timeout", d)
				}
				if !errors.Is(c.Err(), ErrPeerDown) {
					t.Errorf("Conn.Err = %v, want ErrPeerDown", c.Err())
				}
			})
		})
	}
}

// TestSlowButCompleteReply: a reply that takes most of the timeout, but is
// complete within it, is fine.
func TestSlowButCompleteReply(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialFake(t, fs, Config{Timeout: 8 * time.Second, DialContext: dial})
		go func() {
			fs.Expect("STAT")
			for i := 0; i < 3; i++ {
				time.Sleep(2 * time.Second)
				fs.Send("211-line")
			}
			time.Sleep(time.Second)
			fs.Send("211 End")
		}()
		if _, err := c.Cmd(t.Context(), 211, "STAT", ""); err != nil {
			t.Fatalf("a reply complete after 7s of 8 failed: %v", err)
		}
	})
}

func TestCancelIsClosedNotPeerDown(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		c := dialFake(t, fs, cfg)
		go fs.Expect("PWD")
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		_, err := c.Cmd(ctx, 257, "PWD", "")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's error", err)
		}
		if !errors.Is(c.Err(), ErrClosed) || errors.Is(c.Err(), ErrPeerDown) {
			t.Errorf("Conn.Err = %v, want ErrClosed", c.Err())
		}
		if _, err := c.Cmd(t.Context(), 0, "NOOP", ""); !errors.Is(err, ErrClosed) {
			t.Errorf("command after close: %v, want ErrClosed", err)
		}
	})
}

func TestMalformedReply(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		c := dialFake(t, fs, cfg)
		go fs.Serve("SIZE f", "hello there")
		_, err := c.Size(t.Context(), "f")
		if !errors.Is(err, ErrMalformedReply) {
			t.Fatalf("err = %v, want ErrMalformedReply", err)
		}
	})
}

func TestPasswordNeverLogged(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		cfg.User, cfg.Password = "alice", "s3cret-pw"
		var log []string
		cfg.Logf = func(f string, a ...any) {
			log = append(log, f)
			for _, x := range a {
				if s, ok := x.(string); ok {
					log = append(log, s)
				}
			}
		}
		go func() {
			fs.Send("220 hi")
			fs.Serve("USER alice", "331 pw")
			fs.Serve("PASS s3cret-pw", "530 Login incorrect")
		}()
		_, err := Dial(t.Context(), "127.0.0.1:21", cfg)
		if !IsCode(err, 530) || !IsPermanent(err) {
			t.Fatalf("err = %v, want a permanent 530", err)
		}
		for _, l := range append(log, err.Error()) {
			if strings.Contains(l, "s3cret") {
				t.Errorf("password leaked: %q", l)
			}
		}
	})
}
