package control

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestDeadSilence: a NOOP written after 10 s of silence that is never
// answered leaves the connection dead after a known silence of 10 s; one
// that is answered leaves nothing to learn.
func TestDeadSilence(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialFake(t, fs, Config{Timeout: 4 * time.Second, DialContext: dial})
		go func() {
			fs.Serve("NOOP", "200 ok")
			fs.Expect("NOOP") // the flow is dead: no answer
		}()
		if err := c.Noop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if s, ok := c.DeadSilence(); ok {
			t.Fatalf("DeadSilence = %v, true after an answered NOOP", s)
		}
		time.Sleep(10 * time.Second)
		if err := c.Noop(t.Context()); !errors.Is(err, ErrPeerDown) {
			t.Fatalf("err = %v, want ErrPeerDown", err)
		}
		s, ok := c.DeadSilence()
		if !ok || s != 10*time.Second {
			t.Errorf("DeadSilence = %v, %v; want 10s, true", s, ok)
		}
	})
}

// TestDeadSilenceNotWhileAnswered: NOOPs written during a transfer whose
// answers come late (after the 226) are not a dead connection.
func TestDeadSilenceNotWhileAnswered(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialFake(t, fs, Config{Timeout: 4 * time.Second, DialContext: dial})
		go func() {
			fs.Serve("NOOP", "200 ok")
			fs.Expect("NOOP")
			time.Sleep(3 * time.Second)
			fs.Send("200 late but alive")
		}()
		c.Noop(t.Context())
		time.Sleep(2 * time.Second)
		if err := c.Noop(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		if s, ok := c.DeadSilence(); ok {
			t.Errorf("DeadSilence = %v, true for a connection that answered", s)
		}
	})
}

// TestHintsSkipProbes: Config.NoEPSV goes straight to PASV; a refusal
// learned on the connection is reported. MLSD has no such hint: FEAT
// offers MLST, so MLSD is asked.
func TestHintsSkipProbes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialFake(t, fs, Config{Timeout: time.Minute, DialContext: dial, NoEPSV: true})
		go func() {
			fs.Serve("PASV", "227 Entering Passive Mode (127,0,0,1,156,64)")
			d := <-fs.Data
			fs.Serve("MLSD /pub", "150 listing")
			d.Write([]byte("type=file;size=3;modify=20240101000000; a\r\n"))
			d.Close()
			fs.Send("226 done")
		}()
		es, err := c.List(t.Context(), "/pub")
		if err != nil || len(es) != 1 || es[0].Name != "a" {
			t.Fatalf("List = %v, %v", es, err)
		}
		if works, known := c.EPSV(); works || !known {
			t.Errorf("EPSV() = %v, %v; want refused", works, known)
		}
		if works, known := c.MLSD(); !works || !known {
			t.Errorf("MLSD() = %v, %v; want worked", works, known)
		}
	})
}

func TestMLSDRefusalLearned(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialFake(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			fs.Serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
			<-fs.Data
			fs.Serve("MLSD /pub", "500 Unknown command.")
			for i := 0; i < 2; i++ {
				d := openList(fs, "LIST /pub")
				d.Write([]byte(vsftpdListing))
				d.Close()
				fs.Send("226 Directory send OK.")
			}
		}()
		if _, known := c.MLSD(); known {
			t.Fatal("MLSD known before it was tried")
		}
		for i := 0; i < 2; i++ { // the second listing asks LIST at once
			es, err := c.List(t.Context(), "/pub")
			if err != nil {
				t.Fatal(err)
			}
			checkVsftpdListing(t, es)
		}
		if works, known := c.MLSD(); works || !known {
			t.Errorf("MLSD() = %v, %v; want refused", works, known)
		}
		if works, known := c.EPSV(); !works || !known {
			t.Errorf("EPSV() = %v, %v; want it worked", works, known)
		}
	})
}
