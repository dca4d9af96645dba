package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/testserver"
)

// config is one soak: the tree, the faults, the client's settings.
type config struct {
	Seed     uint64
	Files    int
	MaxSize  int64
	Par      int
	Servers  []string // "testserver" or a realserver.Kind
	Timeout  time.Duration
	Chaos    testserver.Chaos
	Idle     time.Duration // the middlebox expires control flows idle this long (0: never)
	Delay    time.Duration // added to every byte's trip, each way
	Work     string        // where trees are written ("" = os.TempDir())
	Duration time.Duration // go on with new rounds (new seeds) until this much time passed
	Verbose  bool
	Log      io.Writer // if set, receives the client's and the middlebox's notes
}

// figures are what a soak counts, per server and direction or in all.
type figures struct {
	Files, Bytes int64
	Faults       testserver.ChaosStats
	IdleExpired  int64 // control flows expired by the middlebox's idle limit
	Retries      int64 // retry events (a failed attempt followed by another)
	Restarts     int64 // restart events (a partial that could not be continued)
	Lost         int64 // files missing or wrong at the destination, or failed
	Leftover     int64 // partial, temporary or state files left behind
	Rerun        int64 // transfers a rerun made (RETR or STOR seen); want 0
	Wall         time.Duration
	PeakRSS      int64 // the process's peak RSS after this step, KiB (getrusage)
}

func (f *figures) add(g figures) {
	f.Files += g.Files
	f.Bytes += g.Bytes
	f.Faults.Cuts += g.Faults.Cuts
	f.Faults.Stalls += g.Faults.Stalls
	f.Faults.Pauses += g.Faults.Pauses
	f.Faults.Expiries += g.Faults.Expiries
	f.Faults.Escaped += g.Faults.Escaped
	f.IdleExpired += g.IdleExpired
	f.Retries += g.Retries
	f.Restarts += g.Restarts
	f.Lost += g.Lost
	f.Leftover += g.Leftover
	f.Rerun += g.Rerun
	f.Wall += g.Wall
	f.PeakRSS = max(f.PeakRSS, g.PeakRSS)
}

func (f figures) failed() bool { return f.Lost > 0 || f.Leftover > 0 || f.Rerun > 0 }

func (f figures) String() string {
	return fmt.Sprintf("files=%d bytes=%d faults=%d (cuts=%d stalls=%d pauses=%d expiries=%d idle_expired=%d escaped=%d) retries=%d restarts=%d lost=%d leftover=%d rerun_transfers=%d wall=%s peak_rss_mib=%.1f",
		f.Files, f.Bytes, f.Faults.Total()+f.IdleExpired, f.Faults.Cuts, f.Faults.Stalls, f.Faults.Pauses, f.Faults.Expiries, f.IdleExpired, f.Faults.Escaped,
		f.Retries, f.Restarts, f.Lost, f.Leftover, f.Rerun, f.Wall.Round(time.Millisecond), float64(f.PeakRSS)/1024)
}

// logf returns a logger for cfg.Log, or nil.
func (cfg config) logf(who string) func(string, ...any) {
	if cfg.Log == nil {
		return nil
	}
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(cfg.Log, "%s %s: %s\n", time.Now().Format("15:04:05.000"), who, fmt.Sprintf(format, args...))
	}
}

// server is an FTP server the soak runs against, with the local folder
// it serves.
type server struct {
	name      string
	addr      string
	user      *url.Userinfo
	root      string // local folder served as "/"
	uploadDir string // remote folder where uploads may go
	ts        *testserver.Server
	close     func()
}

func startServer(name, work string) (*server, error) {
	if name == "testserver" {
		root, err := os.MkdirTemp(work, "soak-testserver-")
		if err != nil {
			return nil, err
		}
		ts, err := testserver.Start(testserver.Options{Root: root})
		if err != nil {
			os.RemoveAll(root)
			return nil, err
		}
		return &server{name: name, addr: ts.Addr(), user: url.User("anonymous"), root: root, uploadDir: "/", ts: ts,
			close: func() { ts.Close(); os.RemoveAll(root) }}, nil
	}
	s, err := realserver.Run(realserver.Kind(name), realserver.Options{})
	if err != nil {
		return nil, err
	}
	u, p := s.Login()
	return &server{name: name, addr: s.Addr, user: url.UserPassword(u, p), root: s.Root, uploadDir: s.UploadDir, close: s.Close}, nil
}

// local maps a remote folder to the served folder on disk.
func (s *server) local(remote string) string {
	return filepath.Join(s.root, filepath.FromSlash(path.Clean("/"+remote)))
}

// result is one direction's figures on one server.
type result struct {
	Way string // "put -r", "mirror up", "mirror down"
	figures
}

// soakOne runs the tree through one server, both ways, behind a chaotic
// middlebox: put -r (PutAll) to /soak-put, the upload mirror (MirrorUp) to
// /soak-up, the download mirror (Mirror) of /soak-down, each checked by
// sha256 with nothing left behind; then each mirror again, which must
// transfer nothing.
func soakOne(ctx context.Context, cfg config, seed uint64, srvName string, out io.Writer) ([]result, error) {
	work, err := os.MkdirTemp(cfg.Work, "soak-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	src := filepath.Join(work, "src")
	t, err := makeTree(src, seed, cfg.Files, cfg.MaxSize)
	if err != nil {
		return nil, fmt.Errorf("making the tree: %w", err)
	}
	srv, err := startServer(srvName, cfg.Work)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", srvName, err)
	}
	defer srv.close()
	// The download's source, served as /soak-down.
	if err := linkTree(src, srv.local("/soak-down"), t); err != nil {
		return nil, err
	}

	chaos := cfg.Chaos
	chaos.Seed = seed
	mb, err := testserver.NewMiddlebox(testserver.MiddleboxOptions{
		Target: srv.addr, Chaos: &chaos, IdleTimeout: cfg.Idle, Delay: cfg.Delay, Logf: cfg.logf("middlebox"),
	})
	if err != nil {
		return nil, err
	}
	defer mb.Close()
	base := &url.URL{Scheme: "ftp", User: srv.user, Host: mb.Addr()}
	at := func(p string) string {
		u := *base
		u.Path = p
		return u.String()
	}
	profiles := filepath.Join(work, "profiles")
	putRemote := path.Join(srv.uploadDir, "soak-put")
	upRemote := path.Join(srv.uploadDir, "soak-up") + "/"
	dst := filepath.Join(work, "dst")
	// A mirror whose top cannot be listed copies nothing: its files are
	// lost (the check counts them), and the soak goes on.
	mirrored := func(res []keepftp.FileResult, err error) (int64, error) {
		n := failures(res, cfg.Verbose, out)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(out, "soak: %s: %v\n", srvName, err)
			return n + 1, nil
		}
		return n, err
	}
	steps := []struct {
		way   string
		dest  string // where the copy lands, on this machine
		run   func(*keepftp.Client) (int64, error)
		rerun bool // a second run must transfer nothing
	}{
		{"put -r", srv.local(putRemote), func(c *keepftp.Client) (int64, error) {
			ups := make([]keepftp.Upload, len(t.Files))
			for i, f := range t.Files {
				ups[i] = keepftp.Upload{Src: filepath.Join(src, filepath.FromSlash(f.Rel)), URL: at(path.Join(putRemote, f.Rel))}
			}
			return failures(c.PutAll(ctx, ups), cfg.Verbose, out), nil
		}, false},
		{"mirror up", srv.local(upRemote), func(c *keepftp.Client) (int64, error) {
			return mirrored(c.MirrorUp(ctx, src, at(upRemote)))
		}, true},
		{"mirror down", dst, func(c *keepftp.Client) (int64, error) {
			return mirrored(c.Mirror(ctx, at("/soak-down/"), dst))
		}, true},
	}
	var results []result
	for _, st := range steps {
		before := mb.Stats()
		f, err := phase(ctx, cfg, profiles, st.run)
		faultsSince(&f, before, mb.Stats())
		if err == nil {
			err = tally(&f, srvName+" "+st.way, st.dest, t, out)
		}
		if err == nil && st.rerun {
			err = rerun(ctx, cfg, profiles, mb, srv, st.way, st.run, st.dest, t, &f, out)
		}
		f.PeakRSS = peakRSS()
		results = append(results, result{st.way, f})
		if err != nil {
			return results, err
		}
	}
	// The download's source must be as it was: a download writes nothing
	// on the server.
	if c, err := verify(srv.local("/soak-down"), t); err != nil {
		return results, err
	} else if c.lost() > 0 || len(c.Leftover) > 0 {
		fmt.Fprintf(out, "soak: %s: the served tree changed:\n%s", srvName, c)
		last := &results[len(results)-1]
		last.Lost += int64(c.lost())
		last.Leftover += int64(len(c.Leftover))
	}
	return results, nil
}

// rerun runs a mirror again, faults still on: it must transfer nothing
// (no RETR, STOR, APPE or STOU passes the middlebox, and the test server
// counts no download or upload), and leave the copy as it was.
func rerun(ctx context.Context, cfg config, profiles string, mb *testserver.Middlebox, srv *server, way string,
	run func(*keepftp.Client) (int64, error), dest string, t *tree, f *figures, out io.Writer) error {
	transfers := func() int64 {
		c := mb.Commands()
		return c["RETR"] + c["STOR"] + c["APPE"] + c["STOU"]
	}
	var tsBefore testserver.Stats
	if srv.ts != nil {
		tsBefore = srv.ts.Stats()
	}
	cmds := transfers()
	before := mb.Stats()
	again, err := phase(ctx, cfg, profiles, run)
	faultsSince(&again, before, mb.Stats())
	if err != nil {
		return err
	}
	f.Rerun = transfers() - cmds
	if srv.ts != nil {
		st := srv.ts.Stats()
		f.Rerun = max(f.Rerun, st.Downloads-tsBefore.Downloads+st.Uploads-tsBefore.Uploads)
	}
	f.Lost += again.Lost
	f.Retries += again.Retries
	f.Restarts += again.Restarts
	f.Faults.Cuts += again.Faults.Cuts
	f.Faults.Stalls += again.Faults.Stalls
	f.Faults.Pauses += again.Faults.Pauses
	f.Faults.Expiries += again.Faults.Expiries
	f.Faults.Escaped += again.Faults.Escaped
	f.IdleExpired += again.IdleExpired
	f.Wall += again.Wall
	c, err := verify(dest, t)
	if err != nil {
		return err
	}
	if c.lost() > 0 || len(c.Leftover) > 0 {
		fmt.Fprintf(out, "soak: %s %s: the rerun damaged the copy:\n%s", srv.name, way, c)
		f.Lost += int64(c.lost())
		f.Leftover += int64(len(c.Leftover))
	}
	if f.Rerun > 0 {
		fmt.Fprintf(out, "soak: %s %s: the rerun transferred %d files (want 0)\n", srv.name, way, f.Rerun)
	}
	return nil
}

// phase runs one transfer step with a fresh Client and counts its
// retries and its failed files.
func phase(ctx context.Context, cfg config, profiles string, run func(*keepftp.Client) (int64, error)) (figures, error) {
	var retries, restarts atomic.Int64
	c := keepftp.NewClient(keepftp.Options{
		Parallel: cfg.Par,
		Timeout:  cfg.Timeout,
		// Generous: the soak counts lost files, and the faults are many;
		// a file is lost only when these run out.
		Retry:      keepftp.RetryPolicy{Retries: 30, BaseDelay: 20 * time.Millisecond, MaxDelay: 500 * time.Millisecond, MaxAttempts: 500},
		ProfileDir: profiles,
		Logf:       cfg.logf("client"),
		Events: func(e keepftp.Event) {
			if cfg.Log != nil && e.Kind != keepftp.EventProgress {
				cfg.logf("event")("%s %s %s off=%d %s", e.Kind, e.URL, e.Local, e.Offset, e.Reason)
			}
			switch e.Kind {
			case keepftp.EventRetry:
				retries.Add(1)
			case keepftp.EventRestart:
				restarts.Add(1)
			}
		},
	})
	defer c.Close()
	start := time.Now()
	failed, err := run(c)
	f := figures{Lost: failed, Retries: retries.Load(), Restarts: restarts.Load(), Wall: time.Since(start)}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return f, err
	}
	return f, ctx.Err()
}

// failures counts the results that failed and prints the first few.
func failures(res []keepftp.FileResult, verbose bool, out io.Writer) int64 {
	var n int64
	for _, r := range res {
		if r.Err == nil {
			continue
		}
		n++
		if errors.Is(r.Err, context.Canceled) {
			continue // interrupted: not worth a line each
		}
		if n <= 10 || verbose {
			fmt.Fprintf(out, "soak: failed: %s -> %s: %v\n", r.URL, r.Local, r.Err)
		}
	}
	return n
}

func faultsSince(f *figures, before, after testserver.MiddleboxStats) {
	f.Faults.Cuts = after.Chaos.Cuts - before.Chaos.Cuts
	f.Faults.Stalls = after.Chaos.Stalls - before.Chaos.Stalls
	f.Faults.Pauses = after.Chaos.Pauses - before.Chaos.Pauses
	f.Faults.Expiries = after.Chaos.Expiries - before.Chaos.Expiries
	f.Faults.Escaped = after.Chaos.Escaped - before.Chaos.Escaped
	f.IdleExpired = after.Expired - before.Expired
}

// tally checks a destination against the tree and adds the verdict to f.
// A file that failed is not counted twice: lost is what the destination
// lacks or has wrong, or the failures, whichever is more.
func tally(f *figures, what, dir string, t *tree, out io.Writer) error {
	c, err := verify(dir, t)
	if err != nil {
		return fmt.Errorf("checking the %s: %w", what, err)
	}
	f.Files, f.Bytes = int64(len(t.Files)), t.Bytes
	f.Lost = max(f.Lost, int64(c.lost()))
	f.Leftover = int64(len(c.Leftover))
	if c.lost() > 0 || len(c.Leftover) > 0 {
		fmt.Fprintf(out, "soak: %s in %s:\n%s", what, dir, c)
	}
	return nil
}

// peakRSS is the process's peak resident set so far, KiB: the figure
// /usr/bin/time reports as %M.
func peakRSS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}
