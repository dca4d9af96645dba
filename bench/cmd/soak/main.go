// Command soak runs a tree of files through keepftp in both directions, at
// -P 8, behind a middlebox that injects random faults (testserver.Chaos:
// data connections cut, stalled and paused, control flows lost at a
// transfer command or when idle, latency added), against the embedded test
// server and the real servers, and checks that nothing is lost:
//
//   - put -r (PutAll) puts every file on the server, checked by sha256 on
//     the server's disk, with nothing else beside them;
//   - the upload mirror (MirrorUp) does the same, through its temporaries,
//     none of which may be left;
//   - the download mirror (Mirror) copies every file, checked by sha256,
//     with no partial or state file left (no .keepftp folder, no .part);
//   - a rerun of each mirror transfers nothing (no RETR, STOR, APPE or STOU
//     passes the middlebox, nor reaches the test server) and leaves the
//     copy intact.
//
// The tree (names, sizes from 0 B to -max-size, bytes) and the faults come
// from -seed: each fault is drawn from the seed and the command it
// strikes, so a run can be repeated. It prints one line per server and
// direction, and a total:
//
//	soak: total files=... bytes=... faults=... retries=... lost=0 ... peak_rss_mib=... wall=...
//
// and exits 1 if any file is lost, wrong or left behind, or if the rerun
// transferred anything; 2 on bad flags; 3 if a server could not be run or
// -max-wall passed; 130 on SIGINT or SIGTERM (the servers are stopped and
// the trees removed).
//
//	soak -short                          # CI: testserver and pure-ftpd, well under a minute
//	soak -long                           # bench: 10,000 files, all servers, rounds for 30 min
//	soak -servers testserver,vsftpd -files 500 -seed 7
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keepftp/keepftp/testserver"
)

// shortConfig is the CI soak: under a minute, under -race too.
func shortConfig() config {
	return config{
		Seed: 1, Files: 120, MaxSize: 3 << 20, Par: 8,
		Servers: []string{"testserver", "pure-ftpd"},
		Timeout: 2 * time.Second,
		Chaos: testserver.Chaos{
			Cut: 0.06, Stall: 0.03, Pause: 0.04, Expire: 0.02,
			Within: 4 << 20, MaxPause: 300 * time.Millisecond, StallHold: 5 * time.Second,
		},
		Delay: 200 * time.Microsecond,
	}
}

// longConfig is the bench soak: at least 10,000 files on every real
// server, in rounds until 30 minutes have passed.
func longConfig() config {
	return config{
		Seed: 1, Files: 10000, MaxSize: 6 << 20, Par: 8,
		Servers:  []string{"vsftpd", "proftpd", "pure-ftpd", "pyftpdlib"},
		Timeout:  4 * time.Second,
		Duration: 30 * time.Minute,
		Chaos: testserver.Chaos{
			Cut: 0.03, Stall: 0.005, Pause: 0.02, Expire: 0.005,
			Within: 6 << 20, MaxPause: time.Second, StallHold: 10 * time.Second,
		},
		Idle:  30 * time.Second,
		Delay: 500 * time.Microsecond,
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("soak", flag.ContinueOnError)
	fl.SetOutput(stderr)
	short := fl.Bool("short", false, "the CI soak: testserver and pure-ftpd, 120 files (flags below override)")
	long := fl.Bool("long", false, "the bench soak: 10,000 files, the four real servers, rounds until -duration (30m)")
	seed := fl.Uint64("seed", 0, "seed of the tree and the faults (0: the preset's)")
	files := fl.Int("files", 0, "files in the tree")
	maxSize := fl.Int64("max-size", 0, "largest file, bytes")
	par := fl.Int("P", 0, "files at a time (and connections)")
	servers := fl.String("servers", "", "comma-separated: testserver, vsftpd, proftpd, pure-ftpd, pyftpdlib")
	timeout := fl.Duration("timeout", 0, "keepftp's liveness timeout")
	duration := fl.Duration("duration", -1, "start new rounds (seed+1, ...) until this much time passed")
	maxWall := fl.Duration("max-wall", 0, "stop whatever runs after this long (0: 3 x -duration + 10m)")
	work := fl.String("work", "", "folder for the trees and the test server's root (default $TMPDIR)")
	verbose := fl.Bool("v", false, "print every failed file")
	logFile := fl.String("log", "", "write the client's and the middlebox's notes to this file")
	memProfile := fl.String("memprofile", "", "write a heap profile to this file whenever the heap reaches a new high")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 || (*short && *long) {
		fmt.Fprintln(stderr, "soak: takes flags only, and one of -short and -long")
		return 2
	}
	cfg := shortConfig()
	if *long {
		cfg = longConfig()
	}
	if *seed != 0 {
		cfg.Seed = *seed
	}
	if *files > 0 {
		cfg.Files = *files
	}
	if *maxSize > 0 {
		cfg.MaxSize = *maxSize
	}
	if *par > 0 {
		cfg.Par = *par
	}
	if *servers != "" {
		cfg.Servers = strings.Split(*servers, ",")
	}
	if *timeout > 0 {
		cfg.Timeout = *timeout
	}
	if *duration >= 0 {
		cfg.Duration = *duration
	}
	cfg.Work, cfg.Verbose = *work, *verbose
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			fmt.Fprintf(stderr, "soak: %v\n", err)
			return 2
		}
		defer f.Close()
		cfg.Log = f
	}
	limit := *maxWall
	if limit <= 0 {
		limit = 3*cfg.Duration + 10*time.Minute
	}
	if *memProfile != "" {
		stopProfile := profileHighs(*memProfile, stderr)
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	total, err := soak(ctx, cfg, stdout)
	total.PeakRSS = peakRSS()
	fmt.Fprintf(stdout, "soak: total %s\n", total)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "soak: %v\n", err)
		if errors.Is(ctx.Err(), context.Canceled) { // SIGINT or SIGTERM
			return 130
		}
		return 3
	case total.failed():
		fmt.Fprintln(stderr, "soak: FAILED: files lost, left behind or transferred again")
		return 1
	}
	return 0
}

// soak runs rounds over the servers until cfg.Duration has passed (one
// round at least), and returns the figures of all of them. A server's run
// is not started when, taking as long as that server's last run (or the
// longest so far), it would end past the deadline.
func soak(ctx context.Context, cfg config, out io.Writer) (figures, error) {
	var total figures
	start := time.Now()
	deadline, hasDeadline := ctx.Deadline()
	took := map[string]time.Duration{}
	var longest time.Duration
	for i := 0; ; i++ {
		round, name := i/len(cfg.Servers), cfg.Servers[i%len(cfg.Servers)]
		if round > 0 && time.Since(start) >= cfg.Duration {
			break
		}
		need, ok := took[name]
		if !ok {
			need = longest
		}
		if round > 0 && hasDeadline && time.Now().Add(need+need/10).After(deadline) {
			fmt.Fprintf(out, "soak: no time left before -max-wall for another run of %s (%s)\n", name, need.Round(time.Second))
			break
		}
		seed := cfg.Seed + uint64(round)
		t0 := time.Now()
		results, err := soakOne(ctx, cfg, seed, name, out)
		took[name] = time.Since(t0)
		longest = max(longest, took[name])
		for _, r := range results {
			fmt.Fprintf(out, "soak: round %d seed %d %-10s %-11s %s\n", round, seed, name, r.Way, r.figures)
			total.add(r.figures)
		}
		if err != nil {
			total.Wall = time.Since(start)
			return total, fmt.Errorf("%s (round %d, seed %d): %w", name, round, seed, err)
		}
	}
	total.Wall = time.Since(start)
	return total, nil
}

// profileHighs writes a heap profile to name each time the heap in use
// passes its highest by 64 MiB, checked every second: where the memory
// went at the peak, which the end of the run no longer shows.
func profileHighs(name string, stderr io.Writer) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var high uint64
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse < high+64<<20 {
				continue
			}
			high = ms.HeapInuse
			f, err := os.Create(name)
			if err == nil {
				err = pprof.WriteHeapProfile(f)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				fmt.Fprintf(stderr, "soak: heap profile: %v\n", err)
				return
			}
			fmt.Fprintf(stderr, "soak: heap in use %d MiB: profile in %s\n", high>>20, name)
		}
	})
	return func() { close(done); wg.Wait() }
}
