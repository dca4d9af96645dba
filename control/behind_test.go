package control

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// behindRTT is the round trip of the Nets these tests run over.
const behindRTT = 100 * time.Millisecond

// answerAtOnce makes f play a server that reads commands during a
// download (pyftpdlib, pure-ftpd): RETR sends the data, then answers
// what the client writes within one and a half round trips of the data's
// end (the client's write takes one) before its 226; each such command
// is counted in *early.
func answerAtOnce(f *ftptest.Fake, early *int) {
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "RETR" {
			return false
		}
		ff, ok := f.File(arg)
		d, err := s.Data()
		if !ok || err != nil {
			s.Reply("550 no")
			return true
		}
		s.Reply("150 here it comes")
		d.Write(ff.Data)
		d.Close()
		if s.WaitCommand(3 * behindRTT / 2) {
			for {
				v, a, err := s.ReadCommand()
				if err != nil {
					break
				}
				*early++
				s.Reply(plainAnswer(f, v, a))
				if s.Pending() == 0 {
					break
				}
			}
		}
		s.Reply("226 done")
		return true
	}
}

// plainAnswer is a plain server's answer to NOOP, SIZE or MDTM of f.
func plainAnswer(f *ftptest.Fake, verb, arg string) string {
	ff, ok := f.File(arg)
	switch {
	case verb == "NOOP":
		return "200 NOOP ok"
	case !ok:
		return "550 no such file"
	case verb == "SIZE":
		return fmt.Sprintf("213 %d", len(ff.Data))
	case verb == "MDTM":
		return "213 " + ff.ModTime.UTC().Format("20060102150405")
	}
	return "502 not here"
}

// dialBehind dials f over vnet with cfg's Deferral.
func dialBehind(t *testing.T, vnet *ftptest.Net, f *ftptest.Fake, d Deferral) *Conn {
	t.Helper()
	c, err := Dial(t.Context(), f.Addr(), Config{Timeout: 10 * time.Second, DialContext: vnet.Dial, Deferral: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The three values read as the log says them.
func TestDeferralString(t *testing.T) {
	for d, want := range map[Deferral]string{
		DeferralUnknown: "unknown",
		AnsweredAfter:   "answered after the final reply",
		AnsweredBefore:  "answered before the final reply",
	} {
		if got := d.String(); got != want {
			t.Errorf("Deferral(%d).String() = %q, want %q", int(d), got, want)
		}
	}
}

// ProbeBehind's NOOP, written when a download's data has all arrived,
// shows where the server answers what comes then: after the final reply
// on a server that holds it until the data connection is closed (vsftpd,
// proftpd: the Fake's FinalDelay), before it on one that reads commands
// during a transfer. Either way the transfer ends with its 226, the
// connection stays in step (the next command gets its own reply), and a
// probe after End writes nothing.
func TestProbeBehindLearnsDeferral(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		early bool
		want  Deferral
	}{
		{"held final reply", false, AnsweredAfter},
		{"answered at once", true, AnsweredBefore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vnet := ftptest.NewNet(t, behindRTT)
				f := ftptest.StartFakeOn(t, vnet)
				f.FinalDelay = behindRTT
				early := 0
				if tc.early {
					answerAtOnce(f, &early)
				}
				body := ftptest.RandomBytes(5000)
				f.WriteFile("/f", body, time.Unix(1e9, 0))
				c := dialBehind(t, vnet, f, DeferralUnknown)
				if d := c.Deferral(); d != DeferralUnknown {
					t.Fatalf("Deferral before any probe = %v", d)
				}
				mark := len(f.Log())
				tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(tr.Data)
				if err != nil || !bytes.Equal(data, body) {
					t.Fatalf("data: %d bytes, %v", len(data), err)
				}
				if err := tr.ProbeBehind(); err != nil {
					t.Fatal(err)
				}
				if rep := <-tr.Final(); rep.Code != 226 {
					t.Fatalf("final reply %d %s, want 226", rep.Code, rep.Msg)
				}
				if _, err := tr.End(t.Context(), true); err != nil {
					t.Fatal(err)
				}
				if err := tr.ProbeBehind(); err != nil {
					t.Fatalf("ProbeBehind after End: %v", err)
				}
				// The probe's answer comes before this SIZE's, whichever
				// way the server answers it.
				if n, err := c.Size(t.Context(), "/f"); err != nil || n != 5000 {
					t.Fatalf("SIZE after the transfer: %d, %v", n, err)
				}
				if d := c.Deferral(); d != tc.want {
					t.Errorf("Deferral = %v, want %v", d, tc.want)
				}
				if want := []string{"EPSV", "RETR /f", "NOOP", "SIZE /f"}; !slices.Equal(f.Log()[mark:], want) {
					t.Errorf("the server read %q, want %q (one NOOP: none after End)", f.Log()[mark:], want)
				}
				if tc.early && early != 1 {
					t.Errorf("%d commands answered during the transfer, want the NOOP", early)
				}
				if n := tr.NoopsSent(); n != 0 {
					t.Errorf("NoopsSent = %d, want 0: the probe is no keepalive", n)
				}
			})
		})
	}
}

// On a server that holds its final reply (AnsweredAfter), the check
// after a download and the next file's look with its EPSV, written by
// StatBehind when the data has all arrived, are answered right behind
// the 226: from the data's end to the facts in hand takes the one round
// trip the 226 takes anyway (in lockstep, two: the 226, then the
// batch). The facts are the files' own, and the next RETR takes the
// port that EPSV opened: no EPSV, and a round trip less, of its own.
func TestStatBehindCostsNoRoundTrip(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		vnet := ftptest.NewNet(t, behindRTT)
		f := ftptest.StartFakeOn(t, vnet)
		f.FinalDelay = behindRTT
		modA, modB := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
		a, b := ftptest.RandomBytes(5000), ftptest.RandomBytes(7000)
		f.WriteFile("/a", a, modA)
		f.WriteFile("/b", b, modB)
		c := dialBehind(t, vnet, f, AnsweredAfter)
		mark := len(f.Log())
		tr, err := c.StartTransfer(t.Context(), "RETR", "/a", 0)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr.Data)
		if err != nil || !bytes.Equal(data, a) {
			t.Fatalf("data: %d bytes, %v", len(data), err)
		}
		dataEnd := time.Now()
		p, err := tr.StatBehind(true, "/a", "/b")
		if err != nil {
			t.Fatal(err)
		}
		if rep := <-tr.Final(); rep.Code != 226 {
			t.Fatalf("final reply %d %s, want 226", rep.Code, rep.Msg)
		}
		if _, err := tr.End(t.Context(), true); err != nil {
			t.Fatal(err)
		}
		sts, err := p.Wait(t.Context())
		took := time.Since(dataEnd)
		if err != nil {
			t.Fatal(err)
		}
		want := []FileStat{{Size: 5000, ModTime: modA}, {Size: 7000, ModTime: modB}}
		if len(sts) != 2 {
			t.Fatalf("Wait gave %d stats, want 2", len(sts))
		}
		for i, st := range sts {
			if st.SizeErr != nil || st.ModTimeErr != nil || st.Size != want[i].Size || !st.ModTime.Equal(want[i].ModTime) {
				t.Errorf("stat %d = %+v, want size %d, time %v", i, st, want[i].Size, want[i].ModTime)
			}
		}
		if took != behindRTT {
			t.Errorf("from the data's end to the stats: %v, want one round trip (%v)", took, behindRTT)
		}
		start := time.Now()
		if got := retrieveOn(t, c, "/b"); !bytes.Equal(got, b) {
			t.Errorf("RETR /b: %d bytes, not the file", len(got))
		}
		// Three round trips, as after StatPassive (the data connection,
		// the RETR, the 226 held a round trip after the data); four if
		// the RETR had to ask EPSV itself.
		if took := time.Since(start); took != 3*behindRTT {
			t.Errorf("RETR /b took %v, want 3 round trips of %v: the port opened behind the transfer", took, behindRTT)
		}
		if want := []string{"EPSV", "RETR /a", "SIZE /a", "MDTM /a", "SIZE /b", "MDTM /b", "EPSV", "RETR /b"}; !slices.Equal(f.Log()[mark:], want) {
			t.Errorf("the server read %q, want %q", f.Log()[mark:], want)
		}
		if d := c.Deferral(); d != AnsweredAfter {
			t.Errorf("Deferral = %v, want it kept: %v", d, AnsweredAfter)
		}
		if _, err := tr.StatBehind(false, "/a"); err == nil {
			t.Error("StatBehind after End: no error")
		}
	})
}

// retrieveOn runs RETR path to its end and returns the data.
func retrieveOn(t *testing.T, c *Conn, path string) []byte {
	t.Helper()
	tr, err := c.StartTransfer(t.Context(), "RETR", path, 0)
	if err != nil {
		t.Fatalf("RETR %s: %v", path, err)
	}
	data, err := io.ReadAll(tr.Data)
	if err != nil {
		t.Fatalf("RETR %s data: %v", path, err)
	}
	if rep := <-tr.Final(); rep.Code != 226 {
		t.Fatalf("RETR %s: final %d %s", path, rep.Code, rep.Msg)
	}
	if _, err := tr.End(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	return data
}

// A command that cannot be sent is refused before anything is written,
// behind the transfer or not.
func TestStatBehindInvalidArgument(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		vnet := ftptest.NewNet(t, behindRTT)
		f := ftptest.StartFakeOn(t, vnet)
		f.WriteFile("/a", []byte("abc"), time.Unix(1e9, 0))
		c := dialBehind(t, vnet, f, AnsweredAfter)
		mark := len(f.Log())
		tr, err := c.StartTransfer(t.Context(), "RETR", "/a", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(tr.Data); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.StatBehind(true, "/a", "/b\r\nDELE /a"); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("StatBehind with CR LF in a path: %v, want ErrInvalidArgument", err)
		}
		if rep := <-tr.Final(); rep.Code != 226 {
			t.Fatalf("final reply %d %s, want 226", rep.Code, rep.Msg)
		}
		if _, err := tr.End(t.Context(), true); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Pwd(t.Context()); err != nil {
			t.Fatal(err)
		}
		if want := []string{"EPSV", "RETR /a", "PWD"}; !slices.Equal(f.Log()[mark:], want) {
			t.Errorf("the server read %q, want %q", f.Log()[mark:], want)
		}
	})
}

// A server said to answer after the final reply that answers at once
// what StatBehind wrote (a 213, or pure-ftpd's 500 during a transfer):
// the answer comes before the transfer's final reply and cannot be
// taken for it. The connection ends out of step (ErrBehindAnswered, an
// ErrDesync), the transfer sees it lost, Wait fails, and Deferral says
// AnsweredBefore from then on. With the next file's RETR written there
// too (StatRetrBehind), the same, and taking that RETR over fails at once
// on the closed connection.
func TestStatBehindAnsweredBeforeFinal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		reply string // the server's answer to what comes during the transfer
		retr  bool
	}{
		{"213", "", false},
		{"500", "500 Unknown command", false},
		{"213 with RETR", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vnet := ftptest.NewNet(t, behindRTT)
				f := ftptest.StartFakeOn(t, vnet)
				early := 0
				answerAtOnce(f, &early)
				if tc.reply != "" {
					hook := f.Hook
					f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
						if verb == "SIZE" || verb == "MDTM" {
							s.Reply(tc.reply)
							return true
						}
						return hook(s, verb, arg)
					}
				}
				f.WriteFile("/a", ftptest.RandomBytes(5000), time.Unix(1e9, 0))
				f.WriteFile("/b", ftptest.RandomBytes(5000), time.Unix(1e9, 0))
				c := dialBehind(t, vnet, f, AnsweredAfter)
				tr, err := c.StartTransfer(t.Context(), "RETR", "/a", 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadAll(tr.Data); err != nil {
					t.Fatal(err)
				}
				var p *PendingStat
				if tc.retr {
					p, err = tr.StatRetrBehind("/b", "/a", "/b")
				} else {
					p, err = tr.StatBehind(false, "/a")
				}
				if err != nil {
					t.Fatal(err)
				}
				if p.wroteRetr() != tc.retr {
					t.Fatalf("RETR written: %v, want %v", p.wroteRetr(), tc.retr)
				}
				select {
				case rep := <-tr.Final():
					t.Fatalf("%d %s taken for the final reply", rep.Code, rep.Msg)
				case <-tr.Lost():
				}
				if _, err := tr.End(t.Context(), false); err != nil {
					t.Fatal(err)
				}
				if err := c.Err(); !errors.Is(err, ErrBehindAnswered) || !errors.Is(err, ErrDesync) {
					t.Errorf("Conn.Err() = %v, want ErrBehindAnswered (an ErrDesync)", err)
				}
				if sts, err := p.Wait(t.Context()); !errors.Is(err, ErrBehindAnswered) {
					t.Errorf("Wait = %+v, %v; want ErrBehindAnswered", sts, err)
				}
				if d := c.Deferral(); d != AnsweredBefore {
					t.Errorf("Deferral = %v, want %v", d, AnsweredBefore)
				}
				if tc.retr {
					if _, err := c.StartTransfer(t.Context(), "RETR", "/b", 0); err == nil {
						t.Error("the RETR written behind was taken over on a connection out of step")
					}
				}
			})
		})
	}
}

// The final replies a download ends with (226, 250; 225 for ABOR's
// sake) are never taken for an answer to a command written behind it;
// anything else that is not preliminary is.
func TestBehindAnswer(t *testing.T) {
	for code, want := range map[int]bool{150: false, 125: false, 225: false, 226: false, 250: false, 200: true, 213: true, 229: true, 426: true, 500: true, 550: true} {
		if got := behindAnswer(Reply{Code: code}); got != want {
			t.Errorf("behindAnswer(%d) = %v, want %v", code, got, want)
		}
	}
}

// With Config.Lockstep a batch is written one command at a time, each
// after the last one's reply: one round trip each, where a pipelined
// batch takes one for all. Replies still go to their own commands,
// refusals included.
func TestBatchLockstep(t *testing.T) {
	t.Parallel()
	for _, lock := range []bool{false, true} {
		t.Run(fmt.Sprintf("lockstep=%v", lock), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vnet := ftptest.NewNet(t, behindRTT)
				f := ftptest.StartFakeOn(t, vnet)
				mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
				f.WriteFile("/f", make([]byte, 1234), mod)
				c, err := Dial(t.Context(), f.Addr(), Config{Timeout: 10 * time.Second, DialContext: vnet.Dial, Lockstep: lock})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				f.ResetCounts()
				start := time.Now()
				reps, err := c.Batch(t.Context(),
					Command{Verb: "SIZE", Arg: "/f", Expect: 213},
					Command{Verb: "MDTM", Arg: "/f", Expect: 213},
					Command{Verb: "SIZE", Arg: "/missing", Expect: 213})
				took := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				if len(reps) != 3 || reps[0].Code != 213 || reps[0].Msg != "1234" || reps[0].Err != nil ||
					reps[1].Code != 213 || reps[1].Msg != "20240506070809" || reps[1].Err != nil ||
					reps[2].Code != 550 || !IsCode(reps[2].Err, 550) {
					t.Fatalf("Batch = %+v", reps)
				}
				trips := 1
				if lock {
					trips = 3
				}
				if took != time.Duration(trips)*behindRTT || f.RoundTrips() != trips {
					t.Errorf("Batch took %v, %d round trips as the server counted; want %d of %v", took, f.RoundTrips(), trips, behindRTT)
				}
				if c.RTT() != behindRTT {
					t.Errorf("RTT() = %v, want %v", c.RTT(), behindRTT)
				}
			})
		})
	}
}
