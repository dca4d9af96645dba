package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// Hostile and broken servers over real TCP on loopback: floods of
// replies, endless and trickled replies, replies out of step. Each must
// end in a clear error, bounded in time and memory, never a hang.

// countingDial dials TCP and counts the bytes the client reads.
func countingDial(n *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: nc, n: n}, nil
	}
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// drain reads commands until the client hangs up, then closes hungUp
// (once: a login that fails out of step is tried again in lockstep, on a
// second connection).
func drain(fs *ftptest.Server, hungUp chan<- struct{}) {
	defer func() { recover() }() // hungUp closed by an earlier connection
	defer close(hungUp)
	for {
		if _, err := fs.TryReadCmd(); err != nil {
			return
		}
	}
}

// waitHungUp fails the test unless the client closed the connection.
func waitHungUp(t *testing.T, hungUp <-chan struct{}) {
	t.Helper()
	select {
	case <-hungUp:
	case <-t.Context().Done():
		t.Fatal("the client never closed the connection")
	}
}

// closeReturns fails the test unless Close returns (a hang guard, not a
// speed check: closeWait bounds Close to 5s).
func closeReturns(t *testing.T, c *Conn) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close hangs")
	}
}

// TestReplyFloodDropsConnection: 100 unsolicited 200 replies after login
// (more than any queue of old) end the connection as out of step; the
// next command fails with ErrDesync and Close returns.
func TestReplyFloodDropsConnection(t *testing.T) {
	t.Parallel()
	hungUp := make(chan struct{})
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		fs.Login()
		for i := 0; i < 100; i++ {
			if fs.TrySend("200 NOOP ok") != nil {
				break
			}
		}
		drain(fs, hungUp)
	})
	c, err := Dial(t.Context(), addr, Config{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Size(t.Context(), "/f")
	if !errors.Is(err, ErrDesync) {
		t.Errorf("SIZE after the flood: err = %v, want ErrDesync", err)
	}
	if !errors.Is(c.Err(), ErrDesync) {
		t.Errorf("Conn.Err = %v, want ErrDesync", c.Err())
	}
	closeReturns(t, c)
	waitHungUp(t, hungUp)
}

// TestBannerOfSingleLineReplies: a 70-line banner where every line is
// "220 text" is 70 replies, not one: Dial fails with ErrDesync (the second
// 220 cannot answer USER; nor in lockstep, where Dial tries again) and
// closes the connection.
func TestBannerOfSingleLineReplies(t *testing.T) {
	t.Parallel()
	hungUp := make(chan struct{})
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		for i := 0; i < 70; i++ {
			if fs.TrySend(fmt.Sprintf("220 Welcome, line %d of the banner", i)) != nil {
				break
			}
		}
		drain(fs, hungUp)
	})
	c, err := Dial(t.Context(), addr, Config{Timeout: 30 * time.Second})
	if !errors.Is(err, ErrDesync) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("Dial: err = %v, want ErrDesync", err)
	}
	if !strings.Contains(err.Error(), "220") {
		t.Errorf("error %q does not show the stray reply", err)
	}
	waitHungUp(t, hungUp)
}

// TestReplyCaps: an endless multi-line reply, as a greeting or as FEAT, in
// short lines or in long ones, ends in ErrMalformedReply naming the cap
// that was crossed, and the client stops reading there: the bytes read
// stay within the cap plus one line and one buffer.
func TestReplyCaps(t *testing.T) {
	t.Parallel()
	short := "x" + strings.Repeat("-", 70)
	long := strings.Repeat("y", 60<<10)
	for _, tc := range []struct {
		name    string
		feat    bool   // endless FEAT after USER/PASS, else an endless greeting
		line    string // each continuation line
		wantCap string
	}{
		{"greeting, short lines", false, short, fmt.Sprintf("longer than %d lines", maxReplyLines)},
		{"greeting, long lines", false, long, fmt.Sprintf("longer than %d bytes", maxReplyBytes)},
		{"FEAT, short lines", true, " " + short, fmt.Sprintf("longer than %d lines", maxReplyLines)},
		{"FEAT, long lines", true, " " + long, fmt.Sprintf("longer than %d bytes", maxReplyBytes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
				code := "220"
				if tc.feat {
					fs.Send("220 ready")
					fs.Serve("USER anonymous", "331 password please")
					fs.Serve("PASS keepftp@", "230 logged in")
					fs.Expect("FEAT")
					code = "211"
				}
				if fs.TrySend(code+"-start") != nil {
					return
				}
				for fs.TrySend(tc.line) == nil {
				}
			})
			var read atomic.Int64
			c, err := Dial(t.Context(), addr, Config{Timeout: 30 * time.Second, DialContext: countingDial(&read)})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if !errors.Is(err, ErrMalformedReply) || !strings.Contains(err.Error(), tc.wantCap) {
				t.Fatalf("err = %v, want ErrMalformedReply %s", err, tc.wantCap)
			}
			if n, most := read.Load(), int64(maxReplyBytes+maxLine+8<<10); n > most {
				t.Errorf("read %d bytes, more than the cap allows (%d)", n, most)
			}
		})
	}
}

// TestTrickledRepliesOverTCP: FEAT at login and SIZE later, trickled a
// line or a byte at a time, fail with ErrPeerDown after the 1s timeout
// although bytes keep coming.
func TestTrickledRepliesOverTCP(t *testing.T) {
	t.Parallel()
	trickle := func(fs *ftptest.Server, pieces ...string) {
		for i := 0; ; i++ {
			if _, err := fs.Ctrl.Write([]byte(pieces[i%len(pieces)])); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// A context far beyond the timeout: if the whole-reply deadline did
	// not hold, the command would end with this context's error instead.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cfg := Config{Timeout: time.Second}

	t.Run("FEAT", func(t *testing.T) {
		addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
			fs.Send("220 ready")
			fs.Serve("USER anonymous", "331 password please")
			fs.Serve("PASS keepftp@", "230 logged in")
			fs.Expect("FEAT")
			fs.Send("211-Features:")
			trickle(fs, " MDTM\r\n", " SIZE\r\n")
		})
		_, err := Dial(ctx, addr, cfg)
		if !errors.Is(err, ErrPeerDown) || !strings.Contains(err.Error(), "FEAT: reply not complete") {
			t.Fatalf("err = %v, want ErrPeerDown for an incomplete FEAT reply", err)
		}
	})
	t.Run("SIZE", func(t *testing.T) {
		addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
			fs.Login()
			fs.Expect("SIZE /f")
			trickle(fs, "2", "1", "3", " ", "1")
		})
		c, err := Dial(ctx, addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Size(ctx, "/f")
		if !errors.Is(err, ErrPeerDown) || !strings.Contains(err.Error(), "SIZE /f: reply not complete") {
			t.Fatalf("err = %v, want ErrPeerDown for an incomplete SIZE reply", err)
		}
	})
}

// TestBannerBeforeAuthTLS: with explicit TLS the second "220" line of a
// banner would be AUTH TLS's answer: out of step too.
func TestBannerBeforeAuthTLS(t *testing.T) {
	t.Parallel()
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		fs.TrySend("220 Welcome", "220 to the server")
		drain(fs, make(chan struct{}))
	})
	_, err := Dial(t.Context(), addr, Config{Timeout: 30 * time.Second, TLSMode: TLSExplicit})
	if !errors.Is(err, ErrDesync) || !strings.Contains(err.Error(), "AUTH TLS") {
		t.Fatalf("Dial: err = %v, want ErrDesync at AUTH TLS", err)
	}
}
