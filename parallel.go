package keepftp

import (
	"context"
	"sync"
)

// forEach calls fn(i) for each i in [0, n), par calls at a time: the one
// worker pool of GetAll, PutAll and Mirror. Once ctx is done no call
// starts (a worker that is handed an index checks ctx first, so a cancel
// that lands while every worker is busy starts nothing afterwards). It
// returns which indexes fn ran for; the others were never started.
func forEach(ctx context.Context, n, par int, fn func(i int)) (ran []bool) {
	ran = make([]bool, n)
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(par, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if ctx.Err() != nil {
					continue // cancelled while this index waited to be handed out
				}
				ran[i] = true // each index is handed to one worker only
				fn(i)
			}
		}()
	}
loop:
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case work <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(work)
	wg.Wait()
	return ran
}
