package keepftp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
)

// A LIST mirror of small files from a server that holds a download's
// final reply a round trip after its data (vsftpd and proftpd wait for
// the client to close the data connection), in virtual time over a 100 ms
// round trip. The first transfer of a connection that does not know the
// server writes a NOOP at the data's end and learns that it is answered
// after the final reply; the profile keeps it. Then the check after each
// transfer, the next file's look and its EPSV are written at the data's
// end and answered with the final reply: a file costs its data
// connection, its RETR and that round trip, 3 (where a connection costs
// nothing, as to the bench's middlebox, 1.5 with the RETR written there
// too: TestMirrorRetrBehind). It was 4: the check waited for the final
// reply. The files arrive whole.
func TestMirrorChecksBehindTransfers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 100 * time.Millisecond
		const n = 10
		vnet := ftptest.NewNet(t, rtt)
		f, files := heldFinalServer(t, vnet, rtt, n)
		profiles := t.TempDir()
		mirror := func(dir string, noProfile bool) time.Duration {
			c := NewClient(Options{ProfileDir: profiles, NoProfile: noProfile, Parallel: 1, Timeout: 10 * time.Second, DialContext: vnet.Dial})
			defer c.Close()
			return mirrorWhole(t, c, "ftp://"+f.Addr()+"/"+dir, files)
		}
		cold1, coldN := mirror("one", true), mirror("m", true)
		mirror("one", false) // learns where the server answers
		f.ResetCounts()
		warm1, warmN := mirror("one", false), mirror("m", false)
		per := func(one, many time.Duration) float64 { return float64(many-one) / float64(n-1) / float64(rtt) }
		t.Logf("round trips a file: %.1f with the server known, %.1f without (a NOOP probes it on each connection's first transfer); SIZE %d, MDTM %d, NOOP %d, EPSV %d, RETR %d",
			per(warm1, warmN), per(cold1, coldN), f.Count("SIZE"), f.Count("MDTM"), f.Count("NOOP"), f.Count("EPSV"), f.Count("RETR"))
		if got := per(warm1, warmN); got > 3 {
			t.Errorf("%.1f round trips a file, want at most 3", got)
		}
		if f.Count("NOOP") != 0 {
			t.Errorf("%d NOOPs with the server known, want none", f.Count("NOOP"))
		}
	})
}

// heldFinalServer is a Fake over vnet that holds a download's final reply
// a round trip after its data, as vsftpd and proftpd wait for the client
// to close the data connection: n files of 16 KiB in /m ("f00", ...), and
// the first of them again in /one.
func heldFinalServer(t *testing.T, vnet *ftptest.Net, rtt time.Duration, n int) (*ftptest.Fake, map[string][]byte) {
	f := ftptest.StartFakeOn(t, vnet)
	f.FinalDelay = rtt
	files := map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("f%02d", i)
		files[name] = ftptest.RandomBytes(16 << 10)
		f.WriteFile("/m/"+name, files[name], mtime)
	}
	f.WriteFile("/one/f00", files["f00"], mtime)
	return f, files
}

// mirrorWhole mirrors url with c into a new folder, fails the test unless
// every file arrived whole (files, by name), and returns how long it took.
func mirrorWhole(t *testing.T, c *Client, url string, files map[string][]byte) time.Duration {
	t.Helper()
	start := time.Now()
	results, err := c.Mirror(t.Context(), url, t.TempDir())
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.URL, r.Err)
		}
		if got, _ := os.ReadFile(r.Local); !bytes.Equal(got, files[filepath.Base(r.Local)]) {
			t.Fatalf("%s differs from the server's", r.Local)
		}
	}
	return took
}

// A server that answers at once what is written at the end of a
// download's data (pyftpdlib): the probe's NOOP is answered before the
// final reply, the profile learns it, and nothing but that NOOP is ever
// written there; the files arrive whole.
func TestProbeSeesServerAnswerEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 100 * time.Millisecond
		vnet := ftptest.NewNet(t, rtt)
		f := ftptest.StartFakeOn(t, vnet)
		early := 0
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
			// What the client writes at the data's end (it is here a round
			// trip later) is answered before the 226, as a server that reads
			// commands during transfers does.
			if !s.WaitCommand(3 * rtt / 2) {
				s.Reply("226 done")
				return true
			}
			if v, _, err := s.ReadCommand(); err == nil {
				early++
				if v == "NOOP" {
					s.Reply("200 NOOP ok")
				} else {
					s.Reply("213 0")
				}
			}
			s.Reply("226 done")
			return true
		}
		data := ftptest.RandomBytes(5000)
		f.WriteFile("/a", data, mtime)
		f.WriteFile("/b", data, mtime)
		profiles := t.TempDir()
		for _, name := range []string{"a", "b"} {
			c := NewClient(Options{ProfileDir: profiles, Timeout: 10 * time.Second, DialContext: vnet.Dial})
			dst := filepath.Join(t.TempDir(), name)
			if _, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/"+name, dst); err != nil {
				t.Fatal(err)
			}
			c.Close()
			if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
				t.Fatalf("%s differs", name)
			}
		}
		if early != 1 || f.Count("NOOP") != 1 {
			t.Errorf("%d commands at the data's end, %d NOOPs; want the one probe", early, f.Count("NOOP"))
		}
	})
}

// A profile that says the server answers after the final reply, on a
// server that no longer does: the check written at the data's end is
// answered before the 226, which cannot be the transfer's final reply
// (ErrBehindAnswered); the connection is dropped, the profile corrected,
// and the retry, which writes nothing there, gets the file whole.
func TestBehindAnsweredEarlyIsCaught(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 100 * time.Millisecond
		vnet := ftptest.NewNet(t, rtt)
		f := ftptest.StartFakeOn(t, vnet)
		f.FinalDelay = rtt
		data := ftptest.RandomBytes(5000)
		f.WriteFile("/a", data, mtime)
		var early atomic.Bool // from the second get on, the server answers what comes during a transfer at once
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb != "RETR" || !early.Load() {
				return false
			}
			ff, _ := f.File(arg)
			d, err := s.Data()
			if err != nil {
				s.Reply("425 no data connection")
				return true
			}
			s.Reply("150 here it comes")
			d.Write(ff.Data)
			d.Close()
			if s.WaitCommand(3 * rtt / 2) {
				for s.Pending() > 0 {
					v, a, _ := s.ReadCommand()
					s.Reply(answer(f, v, a))
				}
			}
			s.Reply("226 done")
			return true
		}
		profiles := t.TempDir()
		get := func() (Outcome, error) {
			c := NewClient(Options{ProfileDir: profiles, Timeout: 10 * time.Second, DialContext: vnet.Dial,
				Retry: RetryPolicy{Retries: 3, BaseDelay: time.Second, MaxDelay: time.Second}})
			defer c.Close()
			dst := filepath.Join(t.TempDir(), "a")
			out, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/a", dst)
			if got, _ := os.ReadFile(dst); err == nil && !bytes.Equal(got, data) {
				t.Fatalf("the local file differs")
			}
			return out, err
		}
		if _, err := get(); err != nil { // learns: answered after the final reply
			t.Fatal(err)
		}
		early.Store(true)
		out, err := get()
		if err != nil || out.Attempts != 2 {
			t.Fatalf("Get: %v in %d attempts, want success in 2", err, out.Attempts)
		}
		if _, err := get(); err != nil {
			t.Fatal(err)
		}
		p := loadProfile(t, profiles, f.Addr())
		if p.Features == nil || p.Features.AfterFinal == nil || *p.Features.AfterFinal {
			t.Errorf("profile features %+v: want after_final false", p.Features)
		}
	})
}

// answer is a plain server's answer to SIZE, MDTM, EPSV or NOOP of f,
// for hooks that answer them at odd moments.
func answer(f *ftptest.Fake, verb, arg string) string {
	ff, ok := f.File(arg)
	switch {
	case verb == "NOOP":
		return "200 ok"
	case verb == "EPSV":
		return "229 Entering Extended Passive Mode (|||1|)" // never used: the connection is dropped
	case !ok:
		return "550 no such file"
	case verb == "SIZE":
		return fmt.Sprintf("213 %d", len(ff.Data))
	case verb == "MDTM":
		return "213 " + ff.ModTime.Format("20060102150405")
	}
	return "502 not here"
}

// loadProfile reads the anonymous profile of addr from dir.
func loadProfile(t *testing.T, dir, addr string) profile.Profile {
	t.Helper()
	st, err := profile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := st.Load(profile.Key{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
