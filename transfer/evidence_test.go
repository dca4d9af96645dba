package transfer

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
)

// What a path does to a transfer teaches nothing about NOOPs; only the
// server ending a transfer with a failure reply right after a NOOP, while
// data flows, counts. Each scenario runs two downloads in a row (the
// registry needs two aborts in a row) in virtual time, with a NOOP every
// second and a 4 s timeout, as in the report that a middlebox's stalls
// made keepftp stop NOOPs to pure-ftpd.

// noopScript is a server's side of one download: data flows from the
// start (1 KiB every 100 ms, or only 4 bytes when stall is set), and at
// each NOOP the scenario acts (n counts them from 1).
type noopScript struct {
	stall  bool
	answer string // the answer to each NOOP before the scenario acts; "" none during the transfer
	onNoop func(s *scriptRun, n int)
}

// scriptRun is one download's server side.
type scriptRun struct {
	fs       *ftptest.Server
	data     net.Conn
	stopData func()
	pending  int // NOOPs not answered yet
}

// afterFinal answers the NOOPs still pending, as vsftpd does after the
// final reply.
func (s *scriptRun) afterFinal() {
	for ; s.pending > 0; s.pending-- {
		s.fs.TrySend("200 NOOP ok")
	}
}

func runNoopScript(t *testing.T, reg *noop.Registry, sc noopScript) error {
	fs, c := dial(t, 4*time.Second)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d := fs.OpenRetr("/f")
		stop := make(chan struct{})
		var once sync.Once
		run := &scriptRun{fs: fs, data: d, stopData: func() { once.Do(func() { close(stop); d.Close() }) }}
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := make([]byte, 1024)
			if sc.stall {
				chunk = chunk[:4]
			}
			for range 100 { // 10 s at most: a scenario that never acts ends short
				if _, err := d.Write(chunk); err != nil || sc.stall {
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
			run.stopData()
			fs.TrySend("226 short")
		}()
		n := 0
		for {
			cmd, err := fs.TryReadCmd()
			if err != nil {
				run.stopData()
				return
			}
			switch cmd {
			case "NOOP":
				n++
				if sc.answer != "" {
					fs.TrySend(sc.answer)
				} else {
					run.pending++
				}
				sc.onNoop(run, n)
			case "PWD":
				run.afterFinal()
				fs.TrySend(`257 "/"`)
			case "ABOR":
				fs.TrySend("226 ABOR ok")
			}
		}
	}()
	_, err := Download(t.Context(), c, "/f", 0, 1<<30, new(bytes.Buffer), Options{Timeout: 4 * time.Second, Keepalive: time.Second, Noops: reg})
	c.Close()
	fs.Ctrl.Close()
	wg.Wait()
	return err
}

func TestPathFaultsTeachNothingAboutNoop(t *testing.T) {
	for _, tc := range []struct {
		name string
		sc   noopScript
	}{
		{"stalled data, the server gives up right after a NOOP", noopScript{stall: true, answer: "500 Unknown command", onNoop: func(s *scriptRun, n int) {
			if n == 3 { // the stall's own timeout, not the NOOP, ends it
				s.fs.TrySend("426 Data connection timed out")
				s.stopData()
			}
		}}},
		{"stalled data, keepftp's stall deadline right after a NOOP", noopScript{stall: true, answer: "500 Unknown command", onNoop: func(*scriptRun, int) {}}},
		{"data reset by the path right after a NOOP, the server reports it", noopScript{onNoop: func(s *scriptRun, n int) {
			if n == 2 {
				s.stopData()
				time.Sleep(5 * time.Millisecond) // the server notices the reset
				s.fs.TrySend("426 Connection closed; transfer aborted")
			}
		}}},
		{"data reset and the server's report arrive together", noopScript{onNoop: func(s *scriptRun, n int) {
			if n == 2 {
				s.stopData()
				s.fs.TrySend("426 Connection closed; transfer aborted")
			}
		}}},
		{"control connection vanished right after a NOOP", noopScript{onNoop: func(s *scriptRun, n int) {
			if n == 2 {
				s.fs.Ctrl.Close()
				s.stopData()
			}
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs []string
				reg := &noop.Registry{Logf: func(f string, a ...any) { logs = append(logs, f) }}
				for i := range 3 {
					if err := runNoopScript(t, reg, tc.sc); err == nil {
						t.Fatalf("download %d succeeded; the scenario makes it fail", i)
					}
				}
				if b := reg.Behaviour("pipe"); b == noop.Aborts || !reg.InTransfer("pipe") || len(logs) > 0 {
					t.Errorf("three failures of the path taught %v (NOOPs in transfers: %v; %q)", b, reg.InTransfer("pipe"), logs)
				}
			})
		})
	}
}

func TestServerAbortOnNoopIsLearned(t *testing.T) {
	for _, tc := range []struct {
		name string
		sc   noopScript
	}{
		{"426 in answer to a NOOP while data flows", noopScript{onNoop: func(s *scriptRun, n int) {
			if n == 2 {
				s.pending--
				s.fs.TrySend("426 Transfer aborted: NOOP not allowed")
				time.Sleep(5 * time.Millisecond)
				s.stopData()
			}
		}}},
		{"data closed and 426 in answer to a NOOP (testserver's NoopAborts)", noopScript{onNoop: func(s *scriptRun, n int) {
			if n == 2 {
				s.pending--
				s.stopData()
				s.fs.TrySend("426 Connection closed; transfer aborted")
			}
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reg := &noop.Registry{}
				for i := range 2 {
					if err := runNoopScript(t, reg, tc.sc); err == nil {
						t.Fatalf("download %d succeeded", i)
					}
				}
				if b := reg.Behaviour("pipe"); b != noop.Aborts || reg.InTransfer("pipe") {
					t.Errorf("two aborts in answer to NOOPs: behaviour %v, NOOPs in transfers %v", b, reg.InTransfer("pipe"))
				}
			})
		})
	}
}

// TestNoopAnsweredDuringCompletedTransferIsClean: a server remembered to
// abort on NOOP is retested; it answers the retest's NOOP with "500"
// before its 226, and the download completes. The server handled the NOOP
// while its transfer ran and did not end it: the remembered abort is
// cleared and "answered with 5xx" learned, however soon after the NOOP
// the data ended. Here it ends at once (well inside noop.AnswerWindow,
// which is wide and grows with a loaded client's round trip: a short
// download on a busy machine kept a false "aborts" that way). In the
// second case the answer and the 226 come in one write after the data's
// end, so the multiplexer may take the final reply before the answer; it
// is run 20 times, as that order is the scheduler's choice.
func TestNoopAnsweredDuringCompletedTransferIsClean(t *testing.T) {
	for _, tc := range []struct {
		name     string
		together bool // the answer comes with the 226, after the data's end
		runs     int
	}{
		{"answer, then the data's end, then 226", false, 1},
		{"the data's end, then answer and 226 in one write", true, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				for run := range tc.runs {
					var logs []string
					reg := &noop.Registry{Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }}
					reg.Remember("pipe", noop.Aborts, true)
					retestAnsweredWith500(t, reg, tc.together)
					if b := reg.Behaviour("pipe"); b != noop.WithError || !reg.InTransfer("pipe") || len(logs) != 1 {
						t.Fatalf("run %d: after a completed retest whose NOOP got 500 during it: behaviour %v, NOOPs in transfers %v, notes %q; want %v, true, one note that it does not abort", run+1, b, reg.InTransfer("pipe"), logs, noop.WithError)
					}
				}
			})
		})
	}
}

// retestAnsweredWith500 runs one download of 64 KiB that gets one NOOP
// (after 1 s, 10 KiB in), answered "500" before the 226 (together: in one
// write with it, after the data's end); the data's rest follows the NOOP
// at once.
func retestAnsweredWith500(t *testing.T, reg *noop.Registry, together bool) {
	fs, c := dial(t, 4*time.Second)
	data := ftptest.RandomBytes(64 << 10)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d := fs.OpenRetr("/f")
		noopIn := make(chan struct{})
		wg.Add(1)
		go func() { // the data: 1 KiB every 100 ms until the NOOP, then the rest at once
			defer wg.Done()
			sent := 0
			for sent < len(data) {
				n := 1024
				select {
				case <-noopIn:
					n = len(data) - sent
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := d.Write(data[sent : sent+n]); err != nil {
					return
				}
				sent += n
			}
			d.Close()
			if together {
				fs.TrySend("500 Unknown command", "226 Transfer complete")
			} else {
				fs.TrySend("226 Transfer complete")
			}
		}()
		noops := 0
		for {
			cmd, err := fs.TryReadCmd()
			if err != nil {
				d.Close()
				return
			}
			switch cmd {
			case "NOOP":
				if noops++; noops > 1 {
					t.Errorf("NOOP %d: the transfer should have ended at the first", noops)
					continue
				}
				if !together {
					fs.TrySend("500 Unknown command")
				}
				close(noopIn)
			case "PWD":
				fs.TrySend(`257 "/"`)
			}
		}
	}()
	var got bytes.Buffer
	res, err := Download(t.Context(), c, "/f", 0, int64(len(data)), &got, Options{Timeout: 4 * time.Second, Keepalive: time.Second, Noops: reg})
	c.Close()
	fs.Ctrl.Close()
	wg.Wait()
	if err != nil || !bytes.Equal(got.Bytes(), data) || res.NoopsSent != 1 {
		t.Fatalf("download: %v, %d bytes of %d, %d NOOPs; want it complete with one NOOP", err, got.Len(), len(data), res.NoopsSent)
	}
}
