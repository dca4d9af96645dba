package keepftp

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
)

// The round trips a mirror spends per small file on a reused connection,
// counted at the server: commands written together count once, and a
// transfer's final reply counts with its command. With MLSD the listing's
// facts stand in for SIZE and MDTM before the transfer, and one MLST
// checks the file after it (EPSV, RETR, MLST: 3). With LIST, whose times
// are only to the minute, the check after each transfer (SIZE, MDTM) also
// asks the next file's SIZE and MDTM and opens its data port (EPSV), all
// written together: that round trip and RETR (2). It was 8 and 6 round
// trips, then 3 and 4.
func TestMirrorRoundTripsPerFile(t *testing.T) {
	t.Parallel()
	const n = 20
	for _, tc := range []struct {
		name       string
		mlst, hash bool
		max        int
	}{
		{"MLSD", true, false, 3},
		{"LIST", false, false, 2},
		{"MLSD and HASH", true, true, 4}, // OPTS HASH once per connection, then HASH per file
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST, f.Hash = tc.mlst, tc.hash
			f.WriteFile("/empty/.keep", nil, mtime) // a directory with one empty file
			mirrorTrips := func(url string) int {
				f.ResetCounts()
				// No NOOPs: the probe's at the end of the first transfer's
				// data may reach the server with the transfer's end or after
				// it, one round trip or none as the server counts them.
				c := NewClient(Options{Parallel: 1, Timeout: 5 * time.Second, NoKeepalive: true})
				if _, err := c.Mirror(t.Context(), url, t.TempDir()); err != nil {
					t.Fatal(err)
				}
				c.Close()
				f.WaitCount("QUIT", 1, 10*time.Second) // written, not waited for
				return f.RoundTrips()
			}
			base := mirrorTrips("ftp://" + f.Addr() + "/empty")
			baseCmds := f.Count("")
			for i := range n {
				f.WriteFile(fmt.Sprintf("/many/f%02d", i), ftptest.RandomBytes(16<<10), mtime)
			}
			f.WriteFile("/many/.keep", nil, mtime)
			trips := mirrorTrips("ftp://" + f.Addr() + "/many")
			per := float64(trips-base) / n
			perCmds := float64(f.Count("")-baseCmds) / n
			t.Logf("%s: %.2f round trips and %.2f commands per file (TYPE %d, FEAT %d, SIZE %d, MDTM %d, MLST %d, EPSV %d, RETR %d in all)",
				tc.name, per, perCmds, f.Count("TYPE"), f.Count("FEAT"), f.Count("SIZE"), f.Count("MDTM"), f.Count("MLST"), f.Count("EPSV"), f.Count("RETR"))
			if per > float64(tc.max) {
				t.Errorf("%.1f round trips per file, want at most %d", per, tc.max)
			}
			if f.Count("TYPE") != 1 || f.Count("FEAT") != 1 || f.Count("USER") != 1 {
				t.Errorf("TYPE %d, FEAT %d, USER %d: want each once, on the one reused connection", f.Count("TYPE"), f.Count("FEAT"), f.Count("USER"))
			}
			if tc.hash && (f.CountPrefix("OPTS HASH") != 1 || f.Count("HASH") != n+1) {
				t.Errorf("OPTS HASH %d, HASH %d: want OPTS HASH once and a HASH per file", f.CountPrefix("OPTS HASH"), f.Count("HASH"))
			}
		})
	}
}

// A file replaced (same size, new time) after the facts its transfer
// started from were taken: the listing's (MLSD), or the look ahead made
// with the previous file's check (LIST). The check after the transfer sees
// it, and the file is fetched again from the server's new facts.
func TestMirrorCatchesFileChangedSinceListing(t *testing.T) {
	t.Parallel()
	for _, mlst := range []bool{true, false} {
		t.Run(fmt.Sprintf("MLST=%v", mlst), func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST = mlst
			first, old, replacement := ftptest.RandomBytes(20000), ftptest.RandomBytes(30000), ftptest.RandomBytes(30000)
			f.WriteFile("/c/a", first, mtime)
			f.WriteFile("/c/f", old, mtime)
			later := mtime.Add(time.Hour)
			var retrs atomic.Int32
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == "RETR" && arg == "/c/f" && retrs.Add(1) == 1 {
					// The file is replaced while the first transfer starts: the
					// data is the new file's, the facts are the old one's.
					f.WriteFile("/c/f", replacement, later)
				}
				return false
			}
			c, ev := testClient(t, 1)
			dir := t.TempDir()
			results, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/c", dir)
			if err != nil || len(results) != 2 || results[0].Err != nil || results[1].Err != nil {
				t.Fatalf("Mirror: %v %+v", err, results)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "a")); !bytes.Equal(got, first) {
				t.Errorf("the local a is not the remote a")
			}
			got, _ := os.ReadFile(filepath.Join(dir, "f"))
			if !bytes.Equal(got, replacement) {
				t.Fatalf("the local file is not the new remote file")
			}
			if st, _ := os.Stat(filepath.Join(dir, "f")); !st.ModTime().Equal(later) {
				t.Errorf("mtime %v, want the new file's %v", st.ModTime(), later)
			}
			if n := retrs.Load(); n != 2 {
				t.Errorf("%d RETRs of f, want 2: the change caught after the first", n)
			}
			if len(ev.kinds("restart")) != 1 && len(ev.kinds("retry")) == 0 {
				t.Errorf("no retry or restart event said the file changed")
			}
		})
	}
}

// The look ahead takes no file away from an idle worker: a mirror of as
// many files as workers runs them all at once, with LIST (which looks
// ahead) and with MLSD (which does not). Each RETR waits, boundedly, for
// the others to arrive, so a worker holding two files shows as fewer at
// once.
func TestMirrorLookAheadKeepsWorkersBusy(t *testing.T) {
	t.Parallel()
	const par = 3
	for _, mlst := range []bool{false, true} {
		t.Run(fmt.Sprint("MLST=", mlst), func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST = mlst
			for i := range par {
				f.WriteFile(fmt.Sprintf("/w/f%d", i), ftptest.RandomBytes(1000+i), mtime)
			}
			var mu sync.Mutex
			arrived, waitedOut := 0, 0
			all := make(chan struct{})
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb != "RETR" {
					return false
				}
				mu.Lock()
				if arrived++; arrived == par {
					close(all)
				}
				mu.Unlock()
				select {
				case <-all:
				case <-time.After(5 * time.Second): // serialised: go on, and fail below
					mu.Lock()
					waitedOut++
					mu.Unlock()
				}
				return false
			}
			c, _ := testClient(t, par)
			if _, err := c.Mirror(t.Context(), "ftp://"+f.Addr()+"/w", t.TempDir()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if arrived != par || waitedOut > 0 {
				t.Errorf("%d RETRs, %d of them waited in vain for all %d at once", arrived, waitedOut, par)
			}
		})
	}
}

// The round trips of a cold `keepftp get` of one small file, counted in
// virtual time over a network whose every path has a 100 ms round trip
// (ftptest.Net: a TCP connection costs one, every byte half of one each
// way; nothing else takes virtual time): the time Get and Close take,
// divided by the round trip. Plain: the connection, the login written
// with SIZE, MDTM and EPSV before the greeting came, the data connection,
// RETR, the check after it (SIZE, MDTM); QUIT is not waited for: 5.
// FTPS (explicit): the connection, the greeting with AUTH TLS's answer,
// the TLS handshake, the login with SIZE, MDTM and EPSV, the data
// connection, RETR, the data connection's TLS handshake after the 150
// (started with RETR it saved one, but a loaded pyftpdlib drops such
// connections), the check: 9. They were 12
// and 18 (lockstep login, MLST and EPSV apart, a wait for QUIT's answer).
// A server that takes only P-256 for its key exchange (pure-ftpd on
// Debian's OpenSSL) asks the first handshake again (Go leads with
// X25519MLKEM768 and X25519): 10, the data connection offering the group
// the control connection settled on; the next run, which the profile
// tells, 9 (it was 20: every handshake asked again). A server
// that holds its final reply until the data connection is closed
// (vsftpd, proftpd) costs the check after the transfer a round trip of
// its own: 6, the first time, when a NOOP written at the data's end
// shows that it answers such commands after the final reply; then the
// check goes there, and it is 5 again (it was 13).
func TestColdGetRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups []tls.CurveID // the server's key exchange groups (empty: Go's); nil: plain FTP
		trips  []int         // per run, the profile kept between runs
		scheme string
		hold   bool // the final reply comes a round trip after the data (vsftpd, proftpd)
	}{
		{"plain", nil, []int{5}, "ftp", false},
		{"plain, final reply held", nil, []int{6, 5}, "ftp", true},
		{"explicit TLS", []tls.CurveID{}, []int{9}, "ftpes", false},
		{"explicit TLS, P-256 only", []tls.CurveID{tls.CurveP256}, []int{10, 9}, "ftpes", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const rtt = 100 * time.Millisecond
				vnet := ftptest.NewNet(t, rtt)
				f := ftptest.StartFakeOn(t, vnet)
				f.MLST = true // as pure-ftpd, proftpd and pyftpdlib: MLST offered
				if tc.hold {
					f.FinalDelay = rtt
				}
				o := Options{ProfileDir: t.TempDir(), Timeout: 10 * time.Second, DialContext: vnet.Dial}
				if tc.groups != nil {
					f.TLS, o.TLS.CAFile = bubbleTLS(t)
					f.TLS.CurvePreferences = tc.groups
				}
				payload := []byte("hello, world!\n")
				f.WriteFile("/small.txt", payload, mtime)
				for run, want := range tc.trips {
					f.ResetCounts()
					c := NewClient(o)
					dst := filepath.Join(t.TempDir(), "small.txt")
					url := tc.scheme + "://" + f.Addr() + "/small.txt"
					start := time.Now()
					if _, err := c.Get(t.Context(), url, dst); err != nil {
						t.Fatal(err)
					}
					c.Close()
					took := time.Since(start)
					if got, _ := os.ReadFile(dst); !bytes.Equal(got, payload) {
						t.Fatalf("the local file holds %q, want %q", got, payload)
					}
					time.Sleep(rtt) // QUIT on its way
					trips := float64(took) / float64(rtt)
					t.Logf("%s, run %d: %.1f round trips; the server's log: %q", tc.name, run, trips, f.Log())
					if trips > float64(want) {
						t.Errorf("run %d: a cold get took %.1f round trips, want at most %d", run, trips, want)
					}
					if n := f.Count("QUIT"); n != 1 {
						t.Errorf("run %d: %d QUIT, want 1", run, n)
					}
				}
			})
		})
	}
}

// A server that loses commands written together (it answers the first
// line of what it reads and forgets the rest) costs the first connection
// its login: its first command fails when the replies stop (the timeout,
// in virtual time here), the retry logs in one command at a time and
// gets the file, and the profile remembers it: the next run writes every
// command alone from the start and loses nothing.
func TestGetLearnsLockstep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 100 * time.Millisecond
		vnet := ftptest.NewNet(t, rtt)
		f := ftptest.StartFakeOn(t, vnet)
		payload := []byte("hello, world!\n")
		f.WriteFile("/small.txt", payload, mtime)
		var lost atomic.Int32
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb != "USER" {
				return false
			}
			s.Reply("331 password please")
			if s.DiscardPending() > 0 {
				lost.Add(1)
			}
			return true
		}
		profiles := t.TempDir()
		for run := range 2 {
			c := NewClient(Options{ProfileDir: profiles, Timeout: 10 * time.Second, DialContext: vnet.Dial})
			dst := filepath.Join(t.TempDir(), "small.txt")
			out, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/small.txt", dst)
			c.Close()
			if err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
			if got, _ := os.ReadFile(dst); !bytes.Equal(got, payload) {
				t.Fatalf("run %d: the local file holds %q", run, got)
			}
			if want := []int32{1, 1}[run]; lost.Load() != want || out.Attempts != 2-run {
				t.Errorf("run %d: %d logins lost in all, %d attempts; want %d and %d", run, lost.Load(), out.Attempts, want, 2-run)
			}
		}
		st, err := profile.Open(profiles)
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := st.Load(profile.Key{Addr: f.Addr()})
		if err != nil || p.Features == nil || p.Features.Pipelining == nil || *p.Features.Pipelining {
			t.Errorf("profile features %+v (%v): want pipelining false", p.Features, err)
		}
	})
}

// A refused password is no sign of lost commands, although a server may
// answer it late, after the commands written behind it (pyftpdlib sends
// FEAT's 211 first): the pipelined login fails out of step, the retry in
// lockstep gets the 530, and Get fails as a login failure. The profile
// does not learn lockstep from it; with the right password the next run
// pipelines, and the profile says it works.
func TestRefusedPasswordIsNotLockstep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vnet := ftptest.NewNet(t, 100*time.Millisecond)
		f := ftptest.StartFakeOn(t, vnet)
		f.WriteFile("/small.txt", []byte("hello, world!\n"), mtime)
		refused := false // guarded by the session: one at a time here
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			switch {
			case verb == "PASS" && arg != "right":
				if s.Pending() == 0 {
					s.Reply("530 Authentication failed.")
				} else {
					refused = true // answered after FEAT, as pyftpdlib does
				}
			case verb == "FEAT" && refused:
				refused = false
				s.Reply("211-Features:", " SIZE", "211 End", "530 Authentication failed.")
			default:
				return false
			}
			return true
		}
		profiles := t.TempDir()
		get := func(pass string) error {
			c := NewClient(Options{ProfileDir: profiles, Timeout: 10 * time.Second, DialContext: vnet.Dial})
			defer c.Close()
			_, err := c.Get(t.Context(), "ftp://bob:"+pass+"@"+f.Addr()+"/small.txt", filepath.Join(t.TempDir(), "small.txt"))
			return err
		}
		pipelining := func() *bool {
			st, err := profile.Open(profiles)
			if err != nil {
				t.Fatal(err)
			}
			p, _, _ := st.Load(profile.Key{Addr: f.Addr(), User: "bob"})
			if p.Features == nil {
				return nil
			}
			return p.Features.Pipelining
		}
		err := get("wrong")
		if resume.Classify(err) != resume.Login {
			t.Fatalf("a wrong password: %v (%v), want a login failure", err, resume.Classify(err))
		}
		if p := pipelining(); p != nil && !*p {
			t.Errorf("the profile learned lockstep from a refused password")
		}
		if err := get("right"); err != nil {
			t.Fatal(err)
		}
		if p := pipelining(); p == nil || !*p {
			t.Errorf("profile pipelining %v, want true", p)
		}
	})
}

// bubbleTLS is a server certificate made inside a synctest bubble (whose
// clock starts in 2000, so that it is valid there) and a CA file that
// trusts it, for Options.TLS.
func bubbleTLS(t *testing.T) (*tls.Config, string) {
	t.Helper()
	cfg, _, err := testserver.SelfSignedTLS("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cfg.Certificates[0].Leaf.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, caFile
}
