// Command many is row (d) of bench/run.sh: N downloads at once through one
// keepftp.Client, each on a connection of its own, to measure the library's
// memory and time under many concurrent transfers. It is also what a Go
// program using keepftp looks like: it imports the root package alone.
//
//	many -url ftp://127.0.0.1:2121/f.bin -n 1000 -o DIR
//
// It downloads the file n times to DIR/0, DIR/1, ... (verifying each as
// keepftp always does), then prints one line:
//
//	files=1000 failed=0 seconds=3.21 peak_rss_mib=87.5 goroutines_max=...
//
// Peak RSS is the process's own (getrusage), the same figure /usr/bin/time
// reports as %M.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/keepftp/keepftp"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("many: ")
	url := flag.String("url", "", "the file to download")
	n := flag.Int("n", 1000, "downloads at once")
	dir := flag.String("o", "", "directory for the downloads")
	timeout := flag.Duration("timeout", time.Minute, "keepftp's liveness timeout")
	flag.Parse()
	if *url == "" || *dir == "" || *n < 1 {
		flag.Usage()
		os.Exit(2)
	}
	c := keepftp.NewClient(keepftp.Options{
		Parallel: *n, // connections to the server: one per download
		Timeout:  *timeout,
		Retry:    keepftp.RetryPolicy{Retries: 3, MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second},
	})
	defer c.Close()

	var failed atomic.Int64
	var maxG atomic.Int64
	stop := make(chan struct{})
	go func() { // the most goroutines seen: what one transfer costs in them
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if g := int64(runtime.NumGoroutine()); g > maxG.Load() {
					maxG.Store(g)
				}
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range *n {
		wg.Go(func() {
			if _, err := c.Get(context.Background(), *url, filepath.Join(*dir, strconv.Itoa(i))); err != nil {
				if failed.Add(1) <= 3 {
					log.Printf("download %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(stop)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("files=%d failed=%d seconds=%.3f peak_rss_mib=%.1f goroutines_max=%d\n",
		*n, failed.Load(), took.Seconds(), float64(ru.Maxrss)/1024, maxG.Load())
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
