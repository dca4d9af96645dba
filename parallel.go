package keepftp

import (
	"context"
	"sync"
)

// forEach calls fn(i) for each i in [0, n), par calls at a time, and
// returns how many it started: once ctx is done, no more start.
func forEach(ctx context.Context, n, par int, fn func(i int)) int {
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(par, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fn(i)
			}
		}()
	}
	started := 0
loop:
	for ; started < n; started++ {
		select {
		case work <- started:
		case <-ctx.Done():
			break loop
		}
	}
	close(work)
	wg.Wait()
	return started
}
