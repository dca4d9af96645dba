package keepftp

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

// protoLog collects the protocol log of a Client.
type protoLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *protoLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}

func (l *protoLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// slowServer serves /f (3 MiB at 1 MiB/s: a 3 s download).
func slowServer(t *testing.T) *testserver.Server {
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 1 << 20}})
	srv.WriteFile("/f", ftptest.RandomBytes(3<<20))
	return srv
}

// TestProfileApplied: a remembered idle limit sets the keepalive (a 3 s
// download with the default 60 s timeout gets NOOPs, as the limit asks),
// a server remembered to abort on NOOP (seen by two runs, recently: not
// due for a retest) gets none, and a refused EPSV is
// not asked again; flags still win over the profile.
func TestProfileApplied(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		profile  func(*profile.Profile)
		opts     Options
		noops    bool // NOOPs expected during the download
		wantEPSV bool
	}{
		{"idle limit", func(p *profile.Profile) { p.LearnIdle(time.Second, 1500*time.Millisecond, time.Now()) }, Options{}, true, true},
		{"idle limit, --keepalive 0", func(p *profile.Profile) { p.LearnIdle(time.Second, 1500*time.Millisecond, time.Now()) }, Options{NoKeepalive: true}, false, true},
		{"nothing learned", func(p *profile.Profile) {}, Options{}, false, true},
		{"aborts on NOOP, seen by two runs", func(p *profile.Profile) {
			p.LearnIdle(time.Second, 1500*time.Millisecond, time.Now())
			p.LearnNoop(noop.Aborts, profile.SourceTransfers, time.Now().Add(-time.Hour))
			p.LearnNoop(noop.Aborts, profile.SourceTransfers, time.Now())
		}, Options{}, false, true},
		{"EPSV refused", func(p *profile.Profile) {
			no := false
			p.Features = &profile.Features{EPSV: &no}
		}, Options{}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := slowServer(t)
			dir := t.TempDir()
			s, _ := profile.Open(dir)
			if err := s.Update(profile.Key{Addr: srv.Addr()}, tc.profile); err != nil {
				t.Fatal(err)
			}
			var log protoLog
			o := tc.opts
			o.ProtocolLog, o.ProfileDir = log.logf, dir
			c := NewClient(o)
			defer c.Close()
			if _, err := c.Get(t.Context(), "ftp://"+srv.Addr()+"/f", filepath.Join(t.TempDir(), "f")); err != nil {
				t.Fatal(err)
			}
			// Not counted: the NOOP that learns where the server answers a
			// command written at the data's end (control.Transfer.ProbeBehind).
			probes := int64(strings.Count(log.String(), "a command written at the end of"))
			if n := srv.Stats().Noops - probes; (n > 0) != tc.noops {
				t.Errorf("the server saw %d NOOPs besides %d probe; want NOOPs: %v", n, probes, tc.noops)
			}
			if got := strings.Contains(log.String(), "> EPSV"); got != tc.wantEPSV {
				t.Errorf("EPSV asked: %v, want %v\n%s", got, tc.wantEPSV, log.String())
			}
		})
	}
}

// TestProfileLearned: a download teaches the profile the server's
// features and NOOP behaviour; --no-profile (Options.NoProfile) writes
// nothing.
func TestProfileLearned(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true, Noop: testserver.NoopImmediate500, Faults: testserver.Faults{RateLimit: 1 << 20}})
	srv.WriteFile("/f", ftptest.RandomBytes(2<<20))
	for _, off := range []bool{true, false} {
		dir := t.TempDir()
		c := NewClient(Options{Keepalive: 200 * time.Millisecond, ProfileDir: dir, NoProfile: off})
		if _, err := c.Get(t.Context(), "ftp://"+srv.Addr()+"/f", filepath.Join(t.TempDir(), "f")); err != nil {
			t.Fatal(err)
		}
		c.Close()
		s, _ := profile.Open(dir)
		p, ok, err := s.Load(profile.Key{Addr: srv.Addr()})
		if off {
			if ok || err != nil {
				t.Errorf("NoProfile: a profile was written (%v, %v)", ok, err)
			}
			continue
		}
		if !ok || err != nil {
			t.Fatalf("no profile after a download: %v", err)
		}
		if p.NoopBehaviour() != noop.WithError || p.Features == nil || p.Features.EPSV == nil || !*p.Features.EPSV ||
			!p.Features.RestStream || len(p.Features.Hashes) == 0 || p.Idle != nil {
			t.Errorf("learned %+v, features %+v", p, p.Features)
		}
	}
}

// TestProfileLearnsDeadConnection: a pooled connection found dead after
// a silence (a NAT that forgets flows silent for 1.5 s dropped it while
// the keepalive was set too long, 3 s) teaches the idle limit: at most
// the silence before the first command that got no answer.
func TestProfileLearnsDeadConnection(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/a", []byte("first"))
	const natIdle = 1500 * time.Millisecond
	mb := ftptest.StartMiddlebox(t, testserver.MiddleboxOptions{Target: srv.Addr(), IdleTimeout: natIdle, Mode: testserver.ExpireBlackhole})
	dir := t.TempDir()
	url := "ftp://" + mb.Addr() + "/a"
	o := Options{Timeout: 2 * time.Second, Keepalive: 3 * time.Second, ProfileDir: dir, Parallel: 1}
	c := NewClient(o)
	defer c.Close()
	if _, err := c.Get(t.Context(), url, filepath.Join(t.TempDir(), "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.WaitStats(t.Context(), func(st testserver.MiddleboxStats) bool { return st.Expired == 1 }); err != nil {
		t.Fatal(err)
	}
	// The pooled connection is dead now. The next Get finds that out (its
	// first command, or the keepalive's NOOP, gets no answer), learns, and
	// completes on a new connection.
	if _, err := c.Get(t.Context(), url, filepath.Join(t.TempDir(), "a")); err != nil {
		t.Fatal(err)
	}
	s, _ := profile.Open(dir)
	p, _, err := s.Load(profile.Key{Addr: mb.Addr()})
	if err != nil || p.Idle == nil {
		t.Fatalf("nothing learned from the dead connection: %+v, %v", p, err)
	}
	failed := time.Duration(p.Idle.Failed)
	// The silence is measured on a loaded machine too: the keepalive's
	// NOOP may go out late, so the bound above is the keepalive plus the
	// timeout, and the keepalive learned from it must still beat the NAT.
	// Below, the silence the client measures starts when it read the last
	// reply, a trip after the middlebox forwarded it and started its
	// clock: it may fall a little short of the NAT's limit (1.499s was
	// seen for 1.5s).
	if p.Idle.Source != profile.SourceDead || failed < natIdle*4/5 || failed > o.Keepalive+o.Timeout {
		t.Errorf("learned %+v; want a failure between the NAT's %v and the keepalive's %v (+ the %v timeout)", p.Idle, natIdle, o.Keepalive, o.Timeout)
	}
	if k := p.Keepalive(); k >= natIdle {
		t.Errorf("keepalive %v from that, not inside the %v limit", k, natIdle)
	}
	t.Logf("learned: at most %v (keepalive %v)", failed, p.Keepalive())
}
