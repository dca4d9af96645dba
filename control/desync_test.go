package control

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// Replies out of step: each is found, and the connection is dropped
// (ErrDesync) before any reply can be matched with the wrong command. Late
// replies that are owed (NOOP and ABOR answers after a transfer) are not
// out of step.

// retrOnce plays a RETR of data; extra replies follow the 226.
func retrOnce(fs *ftptest.Server, data string, extra ...string) {
	d := fs.OpenRetr("/f")
	d.Write([]byte(data))
	d.Close()
	fs.Send("226 Transfer complete")
	if len(extra) > 0 {
		fs.TrySend(extra...)
	}
}

// download runs a RETR to its end on c.
func download(t *testing.T, c *Conn) {
	t.Helper()
	tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(tr.Data); err != nil {
		t.Fatal(err)
	}
	rep := <-tr.Final()
	if rep.Code != 226 {
		t.Fatalf("final = %v", rep)
	}
	if _, err := tr.End(t.Context(), true); err != nil {
		t.Fatal(err)
	}
}

// TestDuplicate226 over TCP: a second 226 that repeats a transfer's final
// reply, whether it comes before the next command or ahead of its answer,
// answers nothing: it is dropped, SIZE gets its own 213, and the
// connection stays (it used to end it, and so fail the check after every
// transfer from such a server). A 226 that repeats nothing, after another
// command's reply, is out of step still: ErrDesync, the connection is
// dropped.
func TestDuplicate226(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		beforeNext bool // the duplicate comes before SIZE is written
	}{
		{"before the next command", true},
		{"ahead of the next command's answer", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hungUp := make(chan struct{})
			addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
				fs.Login()
				if tc.beforeNext {
					retrOnce(fs, "payload", "226 Transfer complete")
					fs.Serve("SIZE /f", "213 7")
				} else {
					retrOnce(fs, "payload")
					fs.Expect("SIZE /f")
					fs.TrySend("226 Transfer complete", "213 7")
				}
				fs.Serve("NOOP", "200 NOOP ok")
				fs.TrySend("226 Transfer complete") // repeats no transfer's reply now
				drain(fs, hungUp)
			})
			dropped := make(chan struct{}, 1)
			logf := func(format string, args ...any) {
				if strings.Contains(fmt.Sprintf(format, args...), "repeats the transfer's final reply") {
					dropped <- struct{}{}
				}
			}
			c, err := Dial(t.Context(), addr, Config{Timeout: 30 * time.Second, Logf: logf})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			download(t, c)
			if tc.beforeNext {
				<-dropped // found by the reader alone
			}
			if n, err := c.Size(t.Context(), "/f"); err != nil || n != 7 {
				t.Fatalf("SIZE after the repeated 226: %d, %v; want its own 213 7", n, err)
			}
			if err := c.Noop(t.Context()); err != nil {
				t.Fatalf("NOOP: %v", err)
			}
			<-c.Done()
			if !errors.Is(c.Err(), ErrDesync) || !strings.Contains(c.Err().Error(), "226") {
				t.Errorf("Conn.Err = %v, want ErrDesync naming the unsolicited 226", c.Err())
			}
			waitHungUp(t, hungUp)
		})
	}
}

// TestRepliesThatCannotAnswer: replies of a class or code the command
// cannot get.
func TestRepliesThatCannotAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd, reply string
		call       func(c *Conn) error
	}{
		{"SIZE /f", "150 Opening data connection", func(c *Conn) error { _, err := c.Size(t.Context(), "/f"); return err }},
		{"SIZE /f", "200 NOOP ok", func(c *Conn) error { _, err := c.Size(t.Context(), "/f"); return err }},
		{"MDTM /f", "226 Transfer complete", func(c *Conn) error { _, err := c.ModTime(t.Context(), "/f"); return err }},
		{"PWD", "213 7", func(c *Conn) error { _, err := c.Pwd(t.Context()); return err }},
		{"NOOP", "257 \"/\"", func(c *Conn) error { return c.Noop(t.Context()) }},
		{"DELE /f", "125 Data connection open", func(c *Conn) error { _, err := c.Cmd(t.Context(), 2, "DELE", "/f"); return err }},
	} {
		t.Run(tc.cmd+" answered "+tc.reply, func(t *testing.T) {
			addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
				fs.Login()
				fs.Expect(tc.cmd)
				fs.TrySend(tc.reply)
				drain(fs, make(chan struct{}))
			})
			c, err := Dial(t.Context(), addr, Config{Timeout: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := tc.call(c); !errors.Is(err, ErrDesync) {
				t.Fatalf("err = %v, want ErrDesync", err)
			}
		})
	}
}

// TestRefusalsStillAnswer: 4xx and 5xx answer any command, and a command
// whose replies are not pinned down takes any 2xx.
func TestRefusalsStillAnswer(t *testing.T) {
	t.Parallel()
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		fs.Login()
		fs.Serve("SIZE /f", "550 No such file")
		fs.Serve("MDTM /f", "450 Busy")
		fs.Serve("DELE /f", "200 Deleted, says this server")
		fs.Serve("NOOP", "200 ok")
	})
	c, err := Dial(t.Context(), addr, Config{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Size(t.Context(), "/f"); !IsCode(err, 550) {
		t.Errorf("SIZE: %v, want 550", err)
	}
	if _, err := c.ModTime(t.Context(), "/f"); !IsCode(err, 450) {
		t.Errorf("MDTM: %v, want 450", err)
	}
	if _, err := c.Cmd(t.Context(), 2, "DELE", "/f"); err != nil {
		t.Errorf("DELE: %v", err)
	}
	if err := c.Noop(t.Context()); err != nil {
		t.Errorf("NOOP: %v", err)
	}
}

// TestUnsolicitedReply: a reply while no command waits ends the
// connection as out of step.
func TestUnsolicitedReply(t *testing.T) {
	t.Parallel()
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		fs.Login()
		fs.TrySend("200 NOOP ok")
		drain(fs, make(chan struct{}))
	})
	c, err := Dial(t.Context(), addr, Config{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-c.Done()
	if err := c.Err(); !errors.Is(err, ErrDesync) || !strings.Contains(err.Error(), "200 NOOP ok") {
		t.Errorf("Conn.Err = %v, want ErrDesync naming the reply", err)
	}
}

// TestUnsolicited421: the server's idle timer says 421 and closes. The
// connection is lost with the 421 as the reason; the server's close is
// waited for (it is the server that ends the session), at most
// min(timeout, closeWait), and no command can start meanwhile.
func TestUnsolicited421(t *testing.T) {
	t.Parallel()
	for _, closes := range []bool{true, false} {
		t.Run(fmt.Sprintf("server closes %v", closes), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fs, dial := ftptest.New(t)
				c := dialFake(t, fs, Config{Timeout: time.Minute, DialContext: dial})
				start := time.Now()
				fs.Send("421 Timeout: closing control connection")
				if closes {
					fs.Ctrl.Close()
				}
				synctest.Wait()
				if err := c.Noop(t.Context()); !errors.Is(err, ErrConnLost) || !strings.Contains(err.Error(), "421") {
					t.Errorf("NOOP after the 421: %v, want ErrConnLost naming the 421", err)
				}
				<-c.Done()
				if err := c.Err(); !errors.Is(err, ErrConnLost) || !strings.Contains(err.Error(), "421") {
					t.Errorf("Conn.Err = %v, want ErrConnLost naming the 421", err)
				}
				want := time.Duration(0)
				if !closes {
					want = closeWait
				}
				if d := time.Since(start); d != want {
					t.Errorf("connection ended after %v, want %v", d, want)
				}
			})
		})
	}
}

// TestCompletionBeforePreliminary: a 226 to RETR before any 1xx is a stray
// (a duplicate from the transfer before): out of step.
func TestCompletionBeforePreliminary(t *testing.T) {
	t.Parallel()
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		fs.Login()
		fs.Serve("EPSV", fs.EPSVReply())
		fs.Expect("RETR /f")
		fs.TrySend("226 Transfer complete")
		drain(fs, make(chan struct{}))
	})
	c, err := Dial(t.Context(), addr, Config{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.StartTransfer(t.Context(), "RETR", "/f", 0); !errors.Is(err, ErrDesync) {
		t.Fatalf("err = %v, want ErrDesync", err)
	}
}

// TestLateRepliesAreOwed: a NOOP written after the final reply was routed
// (the keepalive races the 226), and ABOR's own answer after the 426, come
// after the final reply; they are owed, not out of step: the resync takes
// them and the connection goes on.
func TestLateRepliesAreOwed(t *testing.T) {
	t.Parallel()
	t.Run("NOOP after the final reply", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fs, dial := ftptest.New(t)
			c := dialFake(t, fs, Config{Timeout: time.Minute, DialContext: dial})
			go func() {
				retrOnce(fs, "payload")
				fs.Expect("NOOP")
				fs.Send("200 NOOP ok") // before the resync's PWD is written
				fs.Serve("PWD", `257 "/"`)
				fs.Serve("SIZE /f", "213 7")
			}()
			tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(tr.Data)
			<-tr.Final()
			if err := tr.Noop(); err != nil {
				t.Fatal(err)
			}
			synctest.Wait() // the NOOP's answer is in before End
			stale, err := tr.End(t.Context(), true)
			if err != nil || len(stale) != 1 || stale[0].Code != 200 {
				t.Fatalf("End = %v, %v; want the late 200 discarded", stale, err)
			}
			if n, err := c.Size(t.Context(), "/f"); err != nil || n != 7 {
				t.Fatalf("SIZE after the resync = %d, %v", n, err)
			}
		})
	})
	t.Run("ABOR", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fs, dial := ftptest.New(t)
			c := dialFake(t, fs, Config{Timeout: time.Minute, DialContext: dial})
			go func() {
				d := fs.OpenRetr("/f")
				d.Write([]byte("some"))
				fs.Expect("ABOR")
				d.Close()
				fs.Send("426 Connection closed; transfer aborted", "226 ABOR successful")
				fs.Serve("PWD", `257 "/"`)
				fs.Serve("SIZE /f", "213 7")
			}()
			tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Abort(t.Context()); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			if n, err := c.Size(t.Context(), "/f"); err != nil || n != 7 {
				t.Fatalf("SIZE after the abort = %d, %v", n, err)
			}
		})
	})
}

// TestQuitDoesNotWait: Quit writes QUIT and closes at once, without
// waiting for an answer that would cost a round trip (a server that
// never answers used to hold it 5s); the server reads QUIT, then the
// close. Close afterwards returns at once.
func TestQuitDoesNotWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialFake(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		got := make(chan string, 2)
		go func() {
			cmd, _ := fs.TryReadCmd() // and never answer
			got <- cmd
			_, err := fs.TryReadCmd()
			got <- fmt.Sprint(err)
		}()
		start := time.Now()
		if err := c.Quit(t.Context()); err != nil {
			t.Errorf("Quit: %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Quit took %v, want no wait", d)
		}
		if cmd, end := <-got, <-got; cmd != "QUIT" || end != "EOF" {
			t.Errorf("the server read %q, then %s; want QUIT, then EOF", cmd, end)
		}
		<-c.Done()
		start = time.Now()
		if err := c.Close(); err != nil || time.Since(start) != 0 {
			t.Errorf("Close after Quit: %v after %v", err, time.Since(start))
		}
	})
}
