package resume

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
)

// behindRTT is the round trip of the Nets these tests run over.
const behindRTT = 100 * time.Millisecond

// deferralConns dials each attempt's connection knowing deferral of the
// server (as a pool that remembers it from the profile would), and
// records what each connection knew of it when it was released.
type deferralConns struct {
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	deferral control.Deferral

	mu      sync.Mutex
	learned []control.Deferral
}

func (d *deferralConns) Conn(ctx context.Context, t Target) (*control.Conn, error) {
	return control.Dial(ctx, t.Addr, control.Config{Timeout: 10 * time.Second, DialContext: d.dial, Deferral: d.deferral})
}

func (d *deferralConns) Release(c *control.Conn, healthy bool) {
	d.mu.Lock()
	d.learned = append(d.learned, c.Deferral())
	d.mu.Unlock()
	c.Close()
}

// behindFake is a Fake over a Net that holds a download's final reply a
// round trip after its data, as vsftpd and proftpd do (they wait for the
// client to close the data connection): a command written at the data's
// end is answered after the final reply.
func behindFake(t *testing.T) (*ftptest.Fake, *ftptest.Net) {
	vnet := ftptest.NewNet(t, behindRTT)
	f := ftptest.StartFakeOn(t, vnet)
	f.FinalDelay = behindRTT
	return f, vnet
}

// On a connection that does not know the server, the first download
// writes a NOOP at its data's end and learns from where the answer comes
// that the server answers such commands after the final reply; where the
// NOOP policy sends no NOOPs (NoKeepalive), nothing is written there and
// nothing learned.
func TestGetProbesCommandsBehindTheData(t *testing.T) {
	t.Parallel()
	for _, noKeepalive := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoKeepalive %v", noKeepalive), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f, vnet := behindFake(t)
				data := ftptest.RandomBytes(20000)
				f.WriteFile("/a", data, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
				conns := &deferralConns{dial: vnet.Dial}
				dst := filepath.Join(t.TempDir(), "a")
				o := Options{Conns: conns, Timeout: 10 * time.Second, Policy: fastRetries, Noops: &noop.Registry{}, NoKeepalive: noKeepalive}
				out, err := Get(t.Context(), target(t, f.Addr(), "/a"), dst, o)
				if err != nil || out.Attempts != 1 {
					t.Fatalf("NoKeepalive %v: Get: %v in %d attempts", noKeepalive, err, out.Attempts)
				}
				checkFile(t, dst, data)
				wantNoops, want := 1, control.AnsweredAfter
				if noKeepalive {
					wantNoops, want = 0, control.DeferralUnknown
				}
				if n := f.Count("NOOP"); n != wantNoops {
					t.Errorf("NoKeepalive %v: %d NOOPs, want %d", noKeepalive, n, wantNoops)
				}
				if !slices.Equal(conns.learned, []control.Deferral{want}) {
					t.Errorf("NoKeepalive %v: the connection learned %v, want %v", noKeepalive, conns.learned, want)
				}
			})
		})
	}
}

// On a server known to answer commands written at a download's data end
// after its final reply, the check after the transfer (SIZE and MDTM)
// goes there, with the look at the file Options.Next names and the EPSV
// for its transfer: their answers come with the final reply, a round
// trip sooner than when they wait for it. The next file's facts come back
// as Outcome.Next all the same. Where the server offers MLST, the check
// asks MLST after the final reply instead: nothing is written behind.
func TestGetChecksBehindTheTransfer(t *testing.T) {
	t.Parallel()
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	get := func(t *testing.T, deferral control.Deferral, mlst bool) (took time.Duration, out Outcome, log []string) {
		f, vnet := behindFake(t)
		f.MLST = mlst
		data := ftptest.RandomBytes(20000)
		f.WriteFile("/a", data, mtime)
		f.WriteFile("/b", ftptest.RandomBytes(5000), mtime.Add(time.Hour))
		dst := filepath.Join(t.TempDir(), "a")
		nexts := 0
		o := Options{Conns: &deferralConns{dial: vnet.Dial, deferral: deferral}, Timeout: 10 * time.Second, Policy: fastRetries,
			Noops: &noop.Registry{}, Next: func() string { nexts++; return "/b" }}
		start := time.Now()
		out, err := Get(t.Context(), target(t, f.Addr(), "/a"), dst, o)
		took = time.Since(start)
		if err != nil || out.Attempts != 1 {
			t.Fatalf("%v: Get: %v in %d attempts", deferral, err, out.Attempts)
		}
		checkFile(t, dst, data)
		if out.Verified != "size" || out.Status != "complete" {
			t.Errorf("%v: verified %q, status %q; want size, complete", deferral, out.Verified, out.Status)
		}
		if !mlst && nexts != 1 {
			t.Errorf("%v: Next asked %d times, want once", deferral, nexts)
		}
		log = f.Log()
		return took, out, log[slices.Index(log, "RETR /a")+1:]
	}
	synctest.Test(t, func(t *testing.T) {
		behind, out, log := get(t, control.AnsweredAfter, false)
		if want := []string{"SIZE /a", "MDTM /a", "SIZE /b", "MDTM /b", "EPSV"}; !slices.Equal(log, want) {
			t.Errorf("commands after RETR: %q, want %q", log, want)
		}
		if out.Next == nil || out.Next.Size != 5000 || !out.Next.ModTime.Equal(mtime.Add(time.Hour)) {
			t.Errorf("Outcome.Next = %+v, want /b's size 5000 and time", out.Next)
		}
		lockstep, out, log := get(t, control.AnsweredBefore, false)
		if want := []string{"SIZE /a", "MDTM /a", "SIZE /b", "MDTM /b", "EPSV"}; !slices.Equal(log, want) {
			t.Errorf("lockstep: commands after RETR: %q, want %q", log, want)
		}
		if out.Next == nil || out.Next.Size != 5000 {
			t.Errorf("lockstep: Outcome.Next = %+v, want /b's size 5000", out.Next)
		}
		t.Logf("the download and its check took %v written behind the data, %v in lockstep", behind, lockstep)
		if behind > lockstep-behindRTT {
			t.Errorf("the check written behind the data took %v, lockstep %v: want a round trip (%v) less", behind, lockstep, behindRTT)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		_, _, log := get(t, control.AnsweredAfter, true)
		if want := []string{"MLST /a"}; !slices.Equal(log, want) {
			t.Errorf("with MLST: commands after RETR: %q, want %q", log, want)
		}
	})
}

// A download whose data and final reply arrived whole, but whose check
// after it failed (the server read it after the 226 and closed the
// control connection without answering): the next attempt, on a new
// connection, makes that check again and fetches nothing. Both where the
// check was written behind the data and where it waited for the final
// reply; and on a server that gives no size and no time, where nothing
// could show the partial file to be the same file, and the data used to
// be fetched again from byte 0 at every attempt.
func TestGetChecksAWholeTransferAgain(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		deferral control.Deferral
		noFacts  bool // SIZE and MDTM refused: nothing proves the partial file unchanged
	}{{control.AnsweredAfter, false}, {control.AnsweredBefore, false}, {control.AnsweredAfter, true}, {control.AnsweredBefore, true}} {
		deferral := c.deferral
		t.Run(fmt.Sprintf("%v, no facts %v", deferral, c.noFacts), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f, vnet := behindFake(t)
				data := ftptest.RandomBytes(30000)
				f.WriteFile("/a", data, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
				var cut atomic.Bool
				f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
					if c.noFacts && (verb == "SIZE" || verb == "MDTM") {
						s.Reply("502 not implemented")
						return true
					}
					if verb != "RETR" || cut.Swap(true) {
						return false
					}
					s.SendData(data, "226 done")
					// The check after it (written behind the data, or after
					// the 226) is read, not answered: the session closes.
					// (Closing with commands unread would reset the
					// connection, and could lose the 226.)
					if s.WaitCommand(2 * behindRTT) {
						for {
							if _, _, err := s.ReadCommand(); err != nil || s.Pending() == 0 {
								break
							}
						}
					}
					s.Close()
					return true
				}
				var events eventLog
				var logMu sync.Mutex
				var logs bytes.Buffer
				dst := filepath.Join(t.TempDir(), "a")
				o := Options{Conns: &deferralConns{dial: vnet.Dial, deferral: deferral}, Timeout: 10 * time.Second, Policy: fastRetries,
					Noops: &noop.Registry{}, Events: events.add, Logf: func(format string, args ...any) {
						logMu.Lock()
						fmt.Fprintf(&logs, format+"\n", args...)
						logMu.Unlock()
					}}
				out, err := Get(t.Context(), target(t, f.Addr(), "/a"), dst, o)
				if err != nil {
					t.Fatalf("%v, no facts %v: Get: %v", deferral, c.noFacts, err)
				}
				checkFile(t, dst, data)
				if n := f.Count("RETR"); n != 1 || out.Attempts != 2 {
					t.Errorf("%v, no facts %v: %d RETR in %d attempts, want the data fetched once in 2", deferral, c.noFacts, n, out.Attempts)
				}
				// The status says the data was found whole by a later
				// attempt, and, with no size and no hash, unverified
				// (Outcome.Status).
				status, verified := "complete (verified)", "size"
				if c.noFacts {
					status, verified = "complete (unverified)", NotVerified
				}
				if out.Status != status || out.Verified != verified || out.Size != int64(len(data)) {
					t.Errorf("%v, no facts %v: status %q, verified %q, size %d; want %q, %q, %d", deferral, c.noFacts, out.Status, out.Verified, out.Size, status, verified, len(data))
				}
				if !bytes.Contains(logs.Bytes(), []byte("the transfer was whole; checking it again, not fetching it again")) {
					t.Errorf("%v: the log does not say the transfer is checked again:\n%s", deferral, logs.String())
				}
				if events.count(EventRetry) != 1 || events.count(EventRestart) != 0 {
					t.Errorf("%v: %d retries, %d restarts; want 1 retry, no restart", deferral, events.count(EventRetry), events.count(EventRestart))
				}
				if _, err := os.Stat(dst + DefaultPartSuffix); !os.IsNotExist(err) {
					t.Errorf("%v: the partial file is still there: %v", deferral, err)
				}
			})
		})
	}
}
