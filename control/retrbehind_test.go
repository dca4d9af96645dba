package control

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// retrBehindFake is a Fake over a Net with the round trip behindRTT that
// holds a download's final reply a round trip (vsftpd, proftpd), with the
// files /a and /b.
func retrBehindFake(t *testing.T) (*ftptest.Fake, *ftptest.Net, []byte, []byte) {
	vnet := ftptest.NewNet(t, behindRTT)
	f := ftptest.StartFakeOn(t, vnet)
	f.FinalDelay = behindRTT
	a, b := ftptest.RandomBytes(5000), ftptest.RandomBytes(7000)
	f.WriteFile("/a", a, time.Unix(1e9, 0))
	f.WriteFile("/b", b, time.Unix(1e9, 0))
	return f, vnet, a, b
}

// downloadThenRetrBehind downloads /a on c and writes, at its data's
// end, the check of /a, the look at /b, EPSV and RETR /b; it returns
// once the replies before the RETR's are read (PendingStat.Wait).
func downloadThenRetrBehind(t *testing.T, c *Conn, a []byte) (*PendingStat, []FileStat) {
	t.Helper()
	ctx := t.Context()
	tr, err := c.StartTransfer(ctx, "RETR", "/a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := io.ReadAll(tr.Data); err != nil || !bytes.Equal(data, a) {
		t.Fatalf("/a: %d bytes, %v", len(data), err)
	}
	tr.Data.Close()
	p, err := tr.StatRetrBehind("/b", "/a", "/b")
	if err != nil {
		t.Fatal(err)
	}
	if rep := <-tr.Final(); rep.Code != 226 {
		t.Fatalf("final reply %d %s", rep.Code, rep.Msg)
	}
	if _, err := tr.End(ctx, true); err != nil {
		t.Fatal(err)
	}
	sts, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return p, sts
}

// getAll runs a whole download of path on c and returns its data.
func getAll(t *testing.T, c *Conn, path string, offset int64) []byte {
	t.Helper()
	tr, err := c.StartTransfer(t.Context(), "RETR", path, offset)
	if err != nil {
		t.Fatalf("RETR %s: %v", path, err)
	}
	data, err := io.ReadAll(tr.Data)
	if err != nil {
		t.Fatal(err)
	}
	tr.Data.Close()
	if rep := <-tr.Final(); rep.Code != 226 {
		t.Fatalf("RETR %s: final reply %d %s", path, rep.Code, rep.Msg)
	}
	if _, err := tr.End(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	return data
}

// inStep checks that c is usable and in step: a Stat gets /a's own facts.
func inStep(t *testing.T, c *Conn, a []byte) {
	t.Helper()
	st, err := c.Stat(t.Context(), "/a")
	if err != nil || st.SizeErr != nil || st.Size != int64(len(a)) {
		t.Fatalf("Stat /a after: %+v, %v; want its size %d", st, err, len(a))
	}
	if c.owedRetr() != "" {
		t.Fatalf("a RETR of %s still owed", c.owedRetr())
	}
}

// The RETR written behind is taken over by the next StartTransfer of the
// same file from 0: no other RETR or EPSV is written, the data is /b's,
// and the connection stays in step. The facts of /a and /b come with it.
func TestRetrBehindTakenOver(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f, vnet, a, b := retrBehindFake(t)
		c := dialBehind(t, vnet, f, AnsweredAfter)
		p, sts := downloadThenRetrBehind(t, c, a)
		if !p.wroteRetr() || c.owedRetr() != "/b" {
			t.Fatalf("Retr %v, Behind %q: want the RETR of /b written", p.wroteRetr(), c.owedRetr())
		}
		if len(sts) != 2 || sts[0].Size != int64(len(a)) || sts[1].Size != int64(len(b)) {
			t.Fatalf("facts %+v", sts)
		}
		f.ResetCounts()
		if got := getAll(t, c, "/b", 0); !bytes.Equal(got, b) {
			t.Fatalf("/b: %d bytes, not the file's", len(got))
		}
		if f.Count("RETR") != 0 || f.Count("EPSV") != 0 {
			t.Errorf("RETR %d, EPSV %d written when it was taken over; want none", f.Count("RETR"), f.Count("EPSV"))
		}
		if c.owedRetr() != "" {
			t.Errorf("Behind %q after the take-over", c.owedRetr())
		}
		inStep(t, c, a)
	})
}

// Where the RETR must not go: a server that answers commands during a
// transfer (pyftpdlib, pure-ftpd: AnsweredBefore), or one not known yet.
// StatRetrBehind then writes what StatBehind writes, and no RETR.
func TestRetrBehindOnlyWhereAnsweredAfter(t *testing.T) {
	t.Parallel()
	for _, d := range []Deferral{AnsweredBefore, DeferralUnknown} {
		t.Run(d.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, vnet, _, b := retrBehindFake(t)
				c := dialBehind(t, vnet, f, d)
				tr, err := c.StartTransfer(t.Context(), "RETR", "/a", 0)
				if err != nil {
					t.Fatal(err)
				}
				io.ReadAll(tr.Data)
				tr.Data.Close()
				<-tr.Final() // the commands go after the final reply: none is answered before it
				p, err := tr.StatRetrBehind("/b", "/a", "/b")
				if err != nil {
					t.Fatal(err)
				}
				tr.End(t.Context(), true)
				if _, err := p.Wait(t.Context()); err != nil {
					t.Fatal(err)
				}
				if p.wroteRetr() || c.owedRetr() != "" {
					t.Fatalf("RETR written behind for a server %s", d)
				}
				if got := getAll(t, c, "/b", 0); !bytes.Equal(got, b) {
					t.Fatal("/b differs")
				}
				if n := f.Count("RETR"); n != 2 {
					t.Errorf("%d RETRs, want 2", n)
				}
			})
		})
	}
}

// The EPSV written behind is refused: the server has no port to wait
// on, and refuses the RETR with 425. StartTransfer reads that refusal and
// starts the transfer anew (EPSV, RETR): the data is whole.
func TestRetrBehindEPSVRefused(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f, vnet, a, b := retrBehindFake(t)
		var epsvs atomic.Int32
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "EPSV" && epsvs.Add(1) == 2 {
				s.Reply("425 cannot open a port now")
				return true
			}
			return false
		}
		c := dialBehind(t, vnet, f, AnsweredAfter)
		if p, _ := downloadThenRetrBehind(t, c, a); !p.wroteRetr() {
			t.Fatal("no RETR written behind")
		}
		if got := getAll(t, c, "/b", 0); !bytes.Equal(got, b) {
			t.Fatal("/b differs")
		}
		if n := f.Count("RETR"); n != 3 {
			t.Errorf("%d RETRs, want 3 (/a, /b refused, /b)", n)
		}
		inStep(t, c, a)
	})
}

// The next file is gone: SIZE and MDTM say so, the EPSV opens a port, and
// the RETR is refused with 550 at once. Taken over, the RETR fails as a
// RETR of a missing file does; not taken over (the caller does something
// else first), the refusal is read and dropped. Either way the
// connection stays in step.
func TestRetrBehindFileGone(t *testing.T) {
	t.Parallel()
	for _, takeOver := range []bool{true, false} {
		name := "taken over"
		if !takeOver {
			name = "not taken over"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, vnet, a, _ := retrBehindFake(t)
				f.Remove("/b")
				c := dialBehind(t, vnet, f, AnsweredAfter)
				_, sts := downloadThenRetrBehind(t, c, a)
				if !errors.Is(sts[1].SizeErr, ErrNotFound) {
					t.Fatalf("SIZE /b: %v, want not found", sts[1].SizeErr)
				}
				if takeOver {
					_, err := c.StartTransfer(t.Context(), "RETR", "/b", 0)
					if !errors.Is(err, ErrNotFound) {
						t.Fatalf("RETR /b: %v, want not found", err)
					}
				}
				// The refusal's text is the next SIZE's too: an answer of its
				// own, not a repeat of a transfer's final reply to drop.
				if st, err := c.Stat(t.Context(), "/b"); err != nil || !errors.Is(st.SizeErr, ErrNotFound) {
					t.Fatalf("Stat /b: %+v, %v; want not found", st, err)
				}
				inStep(t, c, a)
				if c.Err() != nil {
					t.Fatal(c.Err())
				}
			})
		})
	}
}

// The RETR written behind is not the next transfer: another file, the
// same from an offset, or another command comes first. It is started and
// aborted (ABOR) before that, the connection stays in step, and what
// comes next gets its own answer.
func TestRetrBehindSettled(t *testing.T) {
	t.Parallel()
	for _, next := range []string{"stat", "other file", "offset"} {
		t.Run(next, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, vnet, a, b := retrBehindFake(t)
				c := dialBehind(t, vnet, f, AnsweredAfter)
				downloadThenRetrBehind(t, c, a)
				switch next {
				case "stat":
					inStep(t, c, a)
				case "other file":
					if got := getAll(t, c, "/a", 0); !bytes.Equal(got, a) {
						t.Fatal("/a differs")
					}
				case "offset":
					if got := getAll(t, c, "/b", 100); !bytes.Equal(got, b[100:]) {
						t.Fatal("/b from 100 differs")
					}
				}
				if c.owedRetr() != "" || f.Count("ABOR") != 1 {
					t.Errorf("Behind %q, ABOR %d: want the RETR ended with one ABOR", c.owedRetr(), f.Count("ABOR"))
				}
				inStep(t, c, a)
				if c.Err() != nil {
					t.Fatal(c.Err())
				}
			})
		})
	}
}

// The EPSV's port cannot be reached: the server waits for a connection
// that will not come, with the RETR's reply. The take-over fails at once
// and the connection is closed (it is out of step), not kept.
func TestRetrBehindPortUnreachable(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f, vnet, a, _ := retrBehindFake(t)
		var epsvs atomic.Int32
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			switch {
			case verb == "EPSV" && epsvs.Add(1) == 2:
				s.Reply("229 Entering Extended Passive Mode (|||1|)") // nobody listens there
				return true
			case verb == "RETR" && arg == "/b":
				s.WaitCommand(time.Minute) // waits for its data connection
				return true
			}
			return false
		}
		c := dialBehind(t, vnet, f, AnsweredAfter)
		downloadThenRetrBehind(t, c, a)
		start := time.Now()
		_, err := c.StartTransfer(t.Context(), "RETR", "/b", 0)
		if err == nil || c.Err() == nil {
			t.Fatalf("RETR /b: %v, connection %v: want a failure and the connection closed", err, c.Err())
		}
		if took := time.Since(start); took > 2*behindRTT {
			t.Errorf("the failure took %v", took)
		}
	})
}

// The client takes longer than the server waits for the data connection
// (vsftpd's accept_timeout): the server refuses the RETR with 425. The
// take-over finds that refusal and starts the transfer anew.
func TestRetrBehindServerStoppedWaiting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f, vnet, a, b := retrBehindFake(t)
		c := dialBehind(t, vnet, f, AnsweredAfter)
		downloadThenRetrBehind(t, c, a)
		time.Sleep(11 * time.Second) // the Fake waits 10 s for a data connection, then answers 425
		if got := getAll(t, c, "/b", 0); !bytes.Equal(got, b) {
			t.Fatal("/b differs")
		}
		if n := f.Count("RETR"); n != 3 {
			t.Errorf("%d RETRs, want 3 (/a, /b given up, /b)", n)
		}
		inStep(t, c, a)
	})
}

// Cancelled while the RETR is owed: the take-over ends at once with the
// context's error, and the connection, which would be out of step, is
// closed. QUIT on such a connection writes QUIT and ends it, without
// settling anything.
func TestRetrBehindCancelAndQuit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f, vnet, a, _ := retrBehindFake(t)
		c := dialBehind(t, vnet, f, AnsweredAfter)
		downloadThenRetrBehind(t, c, a)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := c.Stat(ctx, "/a"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Stat with ctx cancelled: %v", err)
		}
		if c.Err() == nil && c.owedRetr() != "/b" {
			t.Fatalf("the connection is open and the RETR no longer owed: %v", c.Err())
		}
		c2 := dialBehind(t, vnet, f, AnsweredAfter)
		downloadThenRetrBehind(t, c2, a)
		if err := c2.Quit(t.Context()); err != nil && !strings.Contains(err.Error(), "closed") {
			t.Fatalf("Quit: %v", err)
		}
		select {
		case <-c2.Done():
		case <-time.After(time.Second):
			t.Fatal("the connection did not end")
		}
	})
}
