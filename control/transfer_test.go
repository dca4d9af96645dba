package control

import (
	"context"
	"errors"
	"github.com/keepftp/keepftp/internal/ftptest"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// noopStyle is how the scripted server answers NOOPs written mid-transfer.
type noopStyle int

const (
	answerBefore200 noopStyle = iota // pyftpdlib
	answerBefore500                  // pure-ftpd
	answerAfter200                   // vsftpd, proftpd, ftpserverlib
	answerNever                      // pure-ftpd losing replies
)

// TestTransferReplyMatching runs a RETR with two NOOPs written while data
// flows, for each way servers answer them, and checks that only the 226
// ends the transfer, that the resync discards exactly the late answers, and
// that the next command gets its own reply.
func TestTransferReplyMatching(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		style      noopStyle
		wantStale  int // replies the resync must discard
		wantAnswer int // answers routed to the keepalive during the transfer
	}{
		{"200 before 226", answerBefore200, 0, 2},
		{"500 before 226", answerBefore500, 0, 2},
		{"200 after 226", answerAfter200, 2, 0},
		{"missing", answerNever, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fs, dial := ftptest.New(t)
				cfg := Config{Timeout: time.Minute, DialContext: dial}
				c := dialFake(t, fs, cfg)
				scriptDone := make(chan struct{})
				go func() {
					d := fs.OpenRetr("/f")
					for i := 0; i < 2; i++ {
						fs.Expect("NOOP")
						switch tc.style {
						case answerBefore200:
							fs.Send("200 NOOP ok")
						case answerBefore500:
							fs.Send("500 Unknown command")
						}
					}
					d.Write([]byte("payload"))
					d.Close()
					fs.Send("226-Transfer complete", "226 0.01 seconds")
					if tc.style == answerAfter200 {
						fs.Send("200 NOOP ok", "200 NOOP ok")
					}
					if tc.wantStale > 0 || tc.style == answerNever {
						fs.Serve("PWD", `257 "/" is cwd`)
					}
					fs.Serve("SIZE /f", "213 7")
					close(scriptDone)
				}()
				tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 2; i++ {
					if err := tr.Noop(); err != nil {
						t.Fatal(err)
					}
				}
				data, err := io.ReadAll(tr.Data)
				if err != nil || string(data) != "payload" {
					t.Fatalf("data = %q, %v", data, err)
				}
				final := <-tr.Final()
				if final.Code != 226 {
					t.Fatalf("final = %v, want 226", final)
				}
				answers := len(tr.NoopAnswers())
				if answers != tc.wantAnswer {
					t.Errorf("NOOP answers during transfer = %d, want %d", answers, tc.wantAnswer)
				}
				stale, err := tr.End(t.Context(), true)
				if err != nil {
					t.Fatalf("End: %v", err)
				}
				if len(stale) != tc.wantStale {
					t.Errorf("resync discarded %v, want %d replies", stale, tc.wantStale)
				}
				n, err := c.Size(t.Context(), "/f")
				if err != nil || n != 7 {
					t.Errorf("SIZE after transfer = %d, %v; want 7", n, err)
				}
				<-scriptDone
			})
		})
	}
}

// A 200 can never complete a RETR, with or without a NOOP outstanding.
func TestStray200DoesNotCompleteTransfer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		c := dialFake(t, fs, cfg)
		go func() {
			d := fs.OpenRetr("/f")
			fs.Send("200 stray")
			time.Sleep(time.Second)
			d.Close()
			fs.Send("226 done")
		}()
		tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(tr.Data)
		if final := <-tr.Final(); final.Code != 226 {
			t.Fatalf("final = %v, want 226", final)
		}
		tr.End(t.Context(), true)
	})
}

// A 5xx while NOOPs are outstanding is a NOOP's answer; without NOOPs
// outstanding it is the transfer's failure.
func TestFiveHundredDuringTransfer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		c := dialFake(t, fs, cfg)
		go func() {
			d := fs.OpenRetr("/f")
			fs.Expect("NOOP")
			fs.Send("500 Unknown command")
			fs.Send("550 the file vanished")
			d.Close()
		}()
		tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
		if err != nil {
			t.Fatal(err)
		}
		tr.Noop()
		if ans := <-tr.NoopAnswers(); ans.Code != 500 {
			t.Errorf("NOOP answer = %v, want 500", ans)
		}
		if final := <-tr.Final(); final.Code != 550 {
			t.Fatalf("final = %v, want 550", final)
		}
	})
}

// pure-ftpd ends a failed download with a second 150 line: it is final.
func TestSecondPreliminaryIsFinal(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		c := dialFake(t, fs, cfg)
		go func() {
			d := fs.OpenRetr("/f")
			d.Write([]byte("par"))
			d.Close()
			fs.Send("150 0.333 seconds (measured here), 9.00 bytes per second")
		}()
		tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(tr.Data)
		if final := <-tr.Final(); final.Code != 150 {
			t.Fatalf("final = %v, want the second 150", final)
		}
	})
}

func TestTransferRefused(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		c := dialFake(t, fs, cfg)
		go func() {
			fs.Serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
			<-fs.Data
			fs.Serve("RETR /nope", "550 No such file")
			fs.Serve("NOOP", "200 ok")
		}()
		_, err := c.StartTransfer(t.Context(), "RETR", "/nope", 0)
		if !IsCode(err, 550) {
			t.Fatalf("err = %v, want 550", err)
		}
		if err := c.Noop(t.Context()); err != nil {
			t.Errorf("connection unusable after a refused transfer: %v", err)
		}
	})
}

func TestEPSVRefusedFallsBackToPASVIgnoringItsAddress(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		var dialled []string
		inner := cfg.DialContext
		cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialled = append(dialled, addr)
			return inner(ctx, network, addr)
		}
		c := dialFake(t, fs, cfg)
		go func() {
			fs.Serve("EPSV", "500 EPSV not understood")
			fs.Serve("PASV", "227 Entering Passive Mode (10,9,8,7,156,64).")
			d := <-fs.Data
			fs.Serve("RETR /f", "150 ok")
			d.Close()
			fs.Send("226 ok")
		}()
		tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(tr.Data)
		<-tr.Final()
		tr.End(t.Context(), true)
		if got := dialled[len(dialled)-1]; got != "127.0.0.1:40000" {
			t.Errorf("data dialled %s, want the control peer 127.0.0.1:40000 (PASV address ignored)", got)
		}
	})
}

func TestTransferControlLost(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		cfg := Config{Timeout: time.Minute, DialContext: dial}
		c := dialFake(t, fs, cfg)
		go func() {
			d := fs.OpenRetr("/f")
			fs.Ctrl.Close()
			d.Write([]byte("all of it"))
			d.Close()
		}()
		tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr.Data)
		if string(data) != "all of it" {
			t.Errorf("data = %q: the data connection must be read to its end even when control is lost", data)
		}
		<-tr.Lost()
		if !errors.Is(c.Err(), ErrConnLost) {
			t.Errorf("Err = %v, want ErrConnLost", c.Err())
		}
	})
}

// A transfer can be over before StartTransfer looks: the 150 and the 226
// both queued. It must still start (and then end) normally, every time.
func TestQuickTransferPrelimAndFinalQueued(t *testing.T) {
	t.Parallel()
	for i := 0; i < 50; i++ {
		synctest.Test(t, func(t *testing.T) {
			fs, dial := ftptest.New(t)
			cfg := Config{Timeout: time.Minute, DialContext: dial}
			c := dialFake(t, fs, cfg)
			go func() {
				fs.Serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
				d := <-fs.Data
				fs.Expect("MLSD /")
				d.Close()
				fs.Send("150 here it comes", "226 done")
			}()
			tr, err := c.StartTransfer(t.Context(), "MLSD", "/", 0)
			if err != nil {
				t.Fatalf("run %d: %v", i, err)
			}
			if rep := <-tr.Final(); rep.Code != 226 {
				t.Fatalf("final %v", rep)
			}
		})
	}
}

// A refused REST is reported as such, so the layer above can restart at 0;
// the connection stays usable.
func TestRestRefused(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialFake(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			fs.Serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
			<-fs.Data
			fs.Serve("REST 100", "502 REST not implemented")
			fs.Serve("NOOP", "200 ok")
		}()
		_, err := c.StartTransfer(t.Context(), "RETR", "/f", 100)
		if !errors.Is(err, ErrRestRefused) || !IsCode(err, 502) {
			t.Fatalf("err = %v, want ErrRestRefused with the 502", err)
		}
		if err := c.Noop(t.Context()); err != nil {
			t.Errorf("connection unusable after a refused REST: %v", err)
		}
	})
}

// An EPSV written ahead by StatPassive and refused for good is learned as
// when written alone: the transfer goes to PASV, and the next StatPassive
// writes no EPSV.
func TestStatPassiveEPSVRefusedLearnsPASV(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialFake(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			fs.Serve("SIZE /f", "213 3")
			fs.Serve("MDTM /f", "213 20240506070809")
			fs.Serve("EPSV", "500 EPSV not understood")
			fs.Serve("PASV", "227 Entering Passive Mode (127,0,0,1,156,64).")
			d := <-fs.Data
			fs.Serve("RETR /f", "150 ok")
			d.Write([]byte("abc"))
			d.Close()
			fs.Send("226 ok")
			fs.Serve("SIZE /f", "213 3")
			fs.Serve("MDTM /f", "213 20240506070809")
			fs.Serve("PWD", `257 "/"`) // not EPSV: it was learned
		}()
		if st, err := c.StatPassive(t.Context(), "/f"); err != nil || st[0].Size != 3 {
			t.Fatalf("StatPassive: %+v, %v", st, err)
		}
		tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
		if err != nil {
			t.Fatal(err)
		}
		if data, err := io.ReadAll(tr.Data); err != nil || string(data) != "abc" {
			t.Fatalf("data %q, %v", data, err)
		}
		<-tr.Final()
		tr.End(t.Context(), true)
		if st, err := c.StatPassive(t.Context(), "/f"); err != nil || st[0].Size != 3 {
			t.Fatalf("second StatPassive: %+v, %v", st, err)
		}
		if _, err := c.Pwd(t.Context()); err != nil {
			t.Fatalf("PWD: %v", err)
		}
	})
}
