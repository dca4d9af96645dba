package profile

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/noop"
)

func TestUpdateLoadRoundTrip(t *testing.T) {
	t.Parallel()
	s := &Store{Dir: filepath.Join(t.TempDir(), "keepftp")}
	k := Key{Addr: "FTP.Example.org:21"}
	if _, ok, err := s.Load(k); ok || err != nil {
		t.Fatalf("Load before any Update = %v, %v", ok, err)
	}
	yes := true
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	err := s.Update(k, func(p *Profile) {
		p.LearnIdle(1750*time.Millisecond, 2*time.Second, now)
		p.LearnNoop(noop.Aborts, SourceTransfers, now)
		p.Features = &Features{MLSD: &yes, RestStream: true, Hashes: []string{"SHA-256"}}
		p.TLS = "TLS 1.3"
	})
	if err != nil {
		t.Fatal(err)
	}
	// The same server under another spelling of the same key.
	p, ok, err := s.Load(Key{Addr: "ftp.example.org:21", User: "ftp"})
	if err != nil || !ok {
		t.Fatalf("Load = %v, %v", ok, err)
	}
	if p.Server != "ftp.example.org:21" || p.User != "anonymous" || p.Idle.Survived != Duration(1750*time.Millisecond) ||
		p.Idle.Source != SourceDoctor || p.NoopBehaviour() != noop.Aborts || p.Features.MLSD == nil || !*p.Features.MLSD ||
		p.Features.EPSV != nil || p.TLS != "TLS 1.3" {
		t.Errorf("loaded %+v", p)
	}
	st, err := os.Stat(s.Path(k))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("profile file mode %v, %v; want 0600", st.Mode(), err)
	}
	if d, _ := os.Stat(s.Dir); d.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", d.Mode())
	}
	var text bytes.Buffer
	p.WriteText(&text)
	for _, want := range []string{"between 1.75s and 2s", "keepalive used:       800ms", "aborts the transfer (no NOOPs during transfers; from transfers, seen once", "MLSD:                 yes", "EPSV:                 not known", "TLS 1.3"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if ok, err := s.Remove(k); !ok || err != nil {
		t.Fatalf("Remove = %v, %v", ok, err)
	}
	if _, ok, _ := s.Load(k); ok {
		t.Error("the profile is still there after Remove")
	}
	if ok, err := s.Remove(k); ok || err != nil {
		t.Errorf("second Remove = %v, %v; want false, nil", ok, err)
	}
	if ok, err := (&Store{Dir: filepath.Join(t.TempDir(), "none")}).Remove(k); ok || err != nil {
		t.Errorf("Remove without a directory = %v, %v", ok, err)
	}
}

// TestFileNamesStayInTheDirectory: server and user names are data; no
// name makes a path outside the store, and different keys never share a
// file.
func TestFileNamesStayInTheDirectory(t *testing.T) {
	t.Parallel()
	s := &Store{Dir: t.TempDir()}
	seen := map[string]Key{}
	for _, k := range []Key{
		{Addr: "../../etc:21"}, {Addr: "..:21", User: ".."}, {Addr: "a/b:21"}, {Addr: "a%2Fb:21"},
		{Addr: "h:21", User: "u@v"}, {Addr: "v@h:21", User: "u"}, {Addr: "[::1]:21"}, {Addr: "h:21", User: "x\x00\n/"},
	} {
		p := s.Path(k)
		if filepath.Dir(p) != s.Dir {
			t.Errorf("%+v: path %q leaves %q", k, p, s.Dir)
		}
		if other, dup := seen[p]; dup {
			t.Errorf("%+v and %+v share %q", k, other, p)
		}
		seen[p] = k
		if err := s.Update(k, func(*Profile) {}); err != nil {
			t.Errorf("%+v: %v", k, err)
		}
	}
}

func TestKeepalive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		idle *Idle
		want time.Duration
	}{
		{nil, 0},
		{&Idle{Survived: Duration(1750 * time.Millisecond), Failed: Duration(2 * time.Second)}, 800 * time.Millisecond},
		{&Idle{Failed: Duration(5 * time.Second)}, 1200 * time.Millisecond},
		{&Idle{Survived: Duration(5 * time.Minute)}, 150 * time.Second},
		{&Idle{Failed: Duration(time.Second)}, minKeepalive},
	} {
		if got := (Profile{Idle: tc.idle}).Keepalive(); got != tc.want {
			t.Errorf("%+v: Keepalive %v, want %v", tc.idle, got, tc.want)
		}
	}
}

func TestLearnDead(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var p Profile
	if p.LearnDead(400*time.Millisecond, now) || p.Idle != nil {
		t.Fatal("a sub-second silence taken for an idle limit")
	}
	if !p.LearnDead(5*time.Second, now) || p.Idle.Failed != Duration(5*time.Second) || p.Idle.Source != SourceDead {
		t.Fatalf("first dead connection: %+v", p.Idle)
	}
	if p.LearnDead(15*time.Second, now) {
		t.Error("a longer silence than a known failure changed the profile")
	}
	p.LearnIdle(4*time.Second, 8*time.Second, now)
	if !p.LearnDead(3*time.Second, now) || p.Idle.Failed != Duration(3*time.Second) || p.Idle.Survived != 0 {
		t.Errorf("a failure below what survived: %+v, want survived dropped", p.Idle)
	}
}

// TestConcurrentUpdates: runs that share the store each merge their
// finding; none is lost, and no reader sees a torn file.
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	s := &Store{Dir: t.TempDir()}
	k := Key{Addr: "h:21"}
	var wg sync.WaitGroup
	for i := 1; i <= 20; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			err := s.Update(k, func(p *Profile) {
				p.LearnDead(time.Duration(i)*time.Second, time.Now())
				if p.Features == nil {
					p.Features = &Features{}
				}
				p.Features.Hashes = append(p.Features.Hashes, "x") // one per run: counts the merges
			})
			if err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, _, err := s.Load(k); err != nil {
				t.Errorf("a reader saw a damaged profile: %v", err)
			}
		}()
	}
	wg.Wait()
	p, _, err := s.Load(k)
	if err != nil {
		t.Fatal(err)
	}
	if p.Idle.Failed != Duration(time.Second) || len(p.Features.Hashes) != 20 {
		t.Errorf("failed %v after 20 runs (want the shortest, 1s), %d merges (want 20)", p.Idle.Failed, len(p.Features.Hashes))
	}
	if left, _ := filepath.Glob(filepath.Join(s.Dir, "*.tmp*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestDamagedProfileReplaced(t *testing.T) {
	t.Parallel()
	s := &Store{Dir: t.TempDir()}
	k := Key{Addr: "h:21"}
	os.WriteFile(s.Path(k), []byte(`{"idle": {"failed": "-5s"`), 0o600)
	if _, _, err := s.Load(k); err == nil {
		t.Fatal("a damaged profile loaded without error")
	}
	if err := s.Update(k, func(p *Profile) { p.TLS = "TLS 1.2" }); err != nil {
		t.Fatal(err)
	}
	if p, ok, err := s.Load(k); !ok || err != nil || p.TLS != "TLS 1.2" {
		t.Errorf("after Update: %+v, %v, %v", p, ok, err)
	}
	os.WriteFile(s.Path(k), bytes.Repeat([]byte(" "), maxFile+1), 0o600)
	if _, _, err := s.Load(k); err == nil {
		t.Error("an oversized profile loaded")
	}
}

// FuzzLoad: any file content loads or fails cleanly; what loads writes
// back and loads again the same.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.json")
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"idle":{"survived":"1h","failed":"x"}}`))
	f.Add([]byte(`{"noop_during_transfers":"aborts the transfer","noop_evidence":{"source":"transfers","seen":-3},"connection_limit":{"max":-1,"seen":2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Store{Dir: t.TempDir()}
		k := Key{Addr: "h:21"}
		os.WriteFile(s.Path(k), data, 0o600)
		p, ok, err := s.Load(k)
		if err != nil || !ok {
			return
		}
		p.Keepalive()
		p.NoopBehaviour()
		p.NoopFact(time.Now())
		p.ConnsFact(time.Now())
		p.Expire(time.Now())
		p.WriteText(&bytes.Buffer{})
		if p.Idle != nil && (p.Idle.Survived < 0 || p.Idle.Failed < 0) {
			t.Fatalf("negative duration loaded: %+v", p.Idle)
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	})
}

// Open with no directory is the user's cache directory's keepftp
// ($XDG_CACHE_HOME on Linux); a key prints as user@host:port, spelled as
// stored.
func TestOpenDefaultDir(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", t.TempDir())
	s, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "keepftp"); s.Dir != want {
		t.Errorf("Open(\"\").Dir = %q, want %q", s.Dir, want)
	}
	if s, _ := Open("/elsewhere"); s.Dir != "/elsewhere" {
		t.Errorf("Open(dir).Dir = %q", s.Dir)
	}
	if got := (Key{Addr: "FTP.Example.org:21", User: "ftp"}).String(); got != "anonymous@ftp.example.org:21" {
		t.Errorf("Key.String = %q", got)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") with neither XDG_CACHE_HOME nor HOME: no error")
	}
}

// The text for a person names each kind of idle limit and of file time.
func TestWriteTextCases(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		p    Profile
		want []string
	}{
		{Profile{}, []string{"control idle limit:   not known", "NOOP during transfer: unknown", "TLS:                  not used", "set file times:       not known"}},
		{Profile{Idle: &Idle{Failed: Duration(10 * time.Second), Evidence: newEvidence(SourceDead, now)}, SetTime: SetTimeNone},
			[]string{"control idle limit:   at most 10s (from " + SourceDead, "keepalive used:       2.5s", "set file times:       no way works"}},
		{Profile{Idle: &Idle{Survived: Duration(time.Minute), Evidence: newEvidence(SourceDoctor, now)}, SetTime: "MFMT"},
			[]string{"control idle limit:   none found up to 1m0s", "keepalive used:       30s", "set file times:       MFMT\n"}},
	} {
		var text bytes.Buffer
		c.p.WriteText(&text)
		for _, want := range c.want {
			if !strings.Contains(text.String(), want) {
				t.Errorf("text lacks %q:\n%s", want, text.String())
			}
		}
	}
}
