package interop

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/testserver"
)

// A cold get of one small file on every real server, plain, explicit and
// implicit TLS: the login goes in one write with SIZE, MDTM and EPSV
// (before the greeting on plain connections, AUTH TLS before it too),
// and QUIT is not waited for. The file arrives whole, in one attempt, and the server
// answered the pipelined login (the profile says so). A second get on a
// fresh client reads that profile and does the same.
func TestColdGetOnRealServers(t *testing.T) {
	for _, name := range append(append([]string{}, serverNames...), tlsNames...) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			// Through 100 ms of delay each way, so that "before any reply
			// came" does not depend on how fast a loaded machine runs the
			// client (over bare loopback the greeting came first in 2 of 20
			// loaded runs against the test server).
			np := s.path(t, testserver.MiddleboxOptions{Delay: 100 * time.Millisecond})
			p := path.Join(s.uploadDir, "small.txt")
			payload := []byte("hello, world!\n")
			if err := s.write(p, payload); err != nil {
				t.Fatal(err)
			}
			profiles := t.TempDir()
			for run := range 2 {
				var (
					mu  sync.Mutex // the log is written from the reader and a data handshake's goroutine
					log strings.Builder
				)
				o := np.clientOpts()
				o.ProfileDir = profiles
				o.ProtocolLog = func(format string, args ...any) {
					mu.Lock()
					defer mu.Unlock()
					log.WriteString(strings.TrimSpace(fmt.Sprintf(format, args...)) + "\n")
				}
				cl := keepftp.NewClient(o)
				dst := filepath.Join(t.TempDir(), "small.txt")
				out, err := cl.Get(t.Context(), s.url(np.addr(), p), dst)
				cl.Close()
				if err != nil {
					t.Fatalf("run %d: %v\n%s", run, err, log.String())
				}
				if got, _ := os.ReadFile(dst); !bytes.Equal(got, payload) || out.Attempts != 1 {
					t.Fatalf("run %d: %q in %d attempts, want %q in 1\n%s", run, got, out.Attempts, payload, log.String())
				}
				// The login and the look at the file went out before any reply
				// was read: the protocol log shows them before the first "<".
				first := strings.Index(log.String(), "\n< ")
				for _, cmd := range []string{"> USER", "> TYPE I", "> SIZE " + p, "> EPSV"} {
					if i := strings.Index(log.String(), cmd); i < 0 || i > first {
						t.Errorf("run %d: %q not written before the first reply:\n%s", run, cmd, log.String())
					}
				}
			}
			st, err := profile.Open(profiles)
			if err != nil {
				t.Fatal(err)
			}
			user := s.user
			pr, _, err := st.Load(profile.Key{Addr: np.addr(), User: user})
			if err != nil || pr.Features == nil || pr.Features.Pipelining == nil || !*pr.Features.Pipelining {
				t.Errorf("profile features %+v (%v): want pipelining true", pr.Features, err)
			}
		})
	}
}

// On every real server, plain and TLS, a lazily logged-in connection
// (the login written with the first command) takes a pipelined
// SIZE+MDTM+EPSV and the RETR on its port, then a big file; a wrong
// password fails the first command with the server's 530 as a session
// refusal, not as a pipelining failure.
func TestLazyLoginOnRealServers(t *testing.T) {
	for _, name := range append(append([]string{}, serverNames...), tlsNames...) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			p := path.Join(s.uploadDir, "lazy.bin")
			data := ftptest.RandomBytes(s.size(3<<20, 1<<20))
			if err := s.write(p, data); err != nil {
				t.Fatal(err)
			}
			cfg := s.controlConfig()
			cfg.LazyLogin = true
			c, err := control.Dial(t.Context(), s.addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sts, err := c.StatPassive(t.Context(), p)
			if err != nil || sts[0].Size != int64(len(data)) {
				t.Fatalf("StatPassive: %+v, %v", sts, err)
			}
			if works, known := c.Pipelining(); !works || !known {
				t.Errorf("Pipelining() = %v, %v after the lazy login", works, known)
			}
			x, err := c.StartTransfer(t.Context(), "RETR", p, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			_, rerr := got.ReadFrom(x.Data)
			x.Data.Close()
			final := <-x.Final()
			if _, err := x.End(t.Context(), true); err != nil || rerr != nil || final.Code != 226 {
				t.Fatalf("RETR: %v, %v, %d %s", err, rerr, final.Code, final.Msg)
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("RETR gave %d bytes, not the file's %d", got.Len(), len(data))
			}
			if s.user == "" || s.user == realserver.AnonymousUser || strings.HasPrefix(name, string(realserver.PureFTPd)) {
				return // anonymous logins take any password; pure-ftpd answers a wrong one after seconds
			}
			bad := s.controlConfig()
			bad.LazyLogin, bad.Password = true, "wrong-"+bad.Password
			c2, err := control.Dial(t.Context(), s.addr, bad)
			if err == nil {
				defer c2.Close()
				_, err = c2.Size(t.Context(), p)
			}
			// pyftpdlib answers a refused PASS seconds late, after the
			// commands behind it: the lazy login sees that out of step
			// (ErrPipelining); keepftp's pool then logs in in lockstep and
			// gets the 530 (TestRefusedPasswordIsNotLockstep plays it).
			re, refused := control.SessionRefused(err)
			pyOutOfStep := errors.Is(err, control.ErrPipelining) && errors.Is(err, control.ErrDesync) && strings.HasPrefix(name, string(realserver.Pyftpdlib))
			if !pyOutOfStep && (!refused || re.Code != 530 || errors.Is(err, control.ErrPipelining)) {
				t.Errorf("a wrong password: %v, want a session refusal 530", err)
			}
		})
	}
}

// What each real server does with a command written at the end of a
// download's data (the probe's NOOP on a connection's first transfer),
// and gets of small files that then write their check there where that
// is answered after the final reply: every file arrives whole, in one
// attempt. vsftpd and proftpd answer after the 226.
func TestChecksBehindOnRealServers(t *testing.T) {
	for _, name := range append(append([]string{}, serverNames...), tlsNames...) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			files := map[string][]byte{}
			for i := range 4 {
				p := path.Join(s.uploadDir, fmt.Sprintf("b%d.bin", i))
				files[p] = ftptest.RandomBytes(20000 + i)
				if err := s.write(p, files[p]); err != nil {
					t.Fatal(err)
				}
			}
			profiles := t.TempDir()
			var seen []string
			for run := range 2 {
				for p, data := range files {
					o := s.clientOpts()
					o.ProfileDir = profiles
					cl := keepftp.NewClient(o)
					dst := filepath.Join(t.TempDir(), "f")
					out, err := cl.Get(t.Context(), s.url(s.addr, p), dst)
					cl.Close()
					if err != nil || out.Attempts != 1 {
						t.Fatalf("run %d, %s: %v in %d attempts", run, p, err, out.Attempts)
					}
					if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
						t.Fatalf("run %d, %s differs", run, p)
					}
				}
				st, err := profile.Open(profiles)
				if err != nil {
					t.Fatal(err)
				}
				pr, _, _ := st.Load(profile.Key{Addr: s.addr, User: s.user})
				after := "unknown"
				if pr.Features != nil && pr.Features.AfterFinal != nil {
					after = fmt.Sprint(*pr.Features.AfterFinal)
				}
				seen = append(seen, after)
			}
			t.Logf("%s: a command at the data's end answered after the final reply: %v", name, seen)
			if kind, _ := endpoint(name); (kind == string(realserver.Vsftpd) || kind == string(realserver.Proftpd)) && seen[1] != "true" {
				t.Errorf("%s: learned %v, want true", name, seen)
			}
		})
	}
}

// A mirror of small files at -P 1, run twice with a profile: the first
// run learns where the server answers what is written at a download's
// data end, the second writes each next file's RETR there too where that
// is safe (control.Transfer.StatRetrBehind). vsftpd, which answers after
// the final reply and has no MLST (so the check asks SIZE and MDTM and
// looks at the next file), gets them, plain and over FTPS, and takes them
// over: every file arrives whole, in one attempt, each RETR once.
// pure-ftpd and pyftpdlib, which answer at once, never get one.
func TestRetrBehindOnRealServers(t *testing.T) {
	for _, name := range append(append([]string{}, serverNames...), tlsNames...) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			top := path.Join(s.uploadDir, "rb")
			files := map[string][]byte{}
			for i := range 5 {
				rel := fmt.Sprintf("f%d.bin", i)
				files[rel] = ftptest.RandomBytes(9000 + i)
				if err := s.write(path.Join(top, rel), files[rel]); err != nil {
					t.Fatal(err)
				}
			}
			profiles := t.TempDir()
			var ahead, retrs atomic.Int32
			for run := range 2 {
				o := s.clientOpts()
				o.ProfileDir, o.Parallel = profiles, 1
				o.ProtocolLog = func(format string, args ...any) {
					line := fmt.Sprintf(format, args...)
					switch {
					case strings.Contains(line, "written ahead, behind"):
						ahead.Add(1)
					case strings.HasPrefix(line, "> RETR "):
						retrs.Add(1)
					}
				}
				cl := keepftp.NewClient(o)
				dir := t.TempDir()
				results, err := cl.Mirror(t.Context(), s.url(s.addr, top), dir)
				cl.Close()
				if err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
				for _, r := range results {
					if r.Err != nil || r.Outcome.Attempts != 1 {
						t.Errorf("run %d: %s: %v in %d attempts", run, r.URL, r.Err, r.Outcome.Attempts)
					}
				}
				for rel, data := range files {
					if got, err := os.ReadFile(filepath.Join(dir, rel)); err != nil || !bytes.Equal(got, data) {
						t.Errorf("run %d: %s: %v, %d bytes, want %d", run, rel, err, len(got), len(data))
					}
				}
			}
			t.Logf("%s: %d RETRs written ahead, %d RETRs in all", name, ahead.Load(), retrs.Load())
			switch kind, _ := endpoint(name); kind {
			case string(realserver.Vsftpd):
				if ahead.Load() < int32(len(files)-1) {
					t.Errorf("%s: %d RETRs written ahead in the second run, want %d", name, ahead.Load(), len(files)-1)
				}
			case string(realserver.PureFTPd), string(realserver.Pyftpdlib):
				if ahead.Load() != 0 {
					t.Errorf("%s: %d RETRs written ahead, want none", name, ahead.Load())
				}
			}
			if want := int32(2 * len(files)); retrs.Load() != want {
				t.Errorf("%s: %d RETRs, want %d: each file once a run", name, retrs.Load(), want)
			}
		})
	}
}
