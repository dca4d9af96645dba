package main

import (
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// newBar returns a progress callback drawing a bar on w when w is a
// terminal, and nil otherwise: scripts and pipes get no bar.
func newBar(w *os.File, name string, quiet bool) (update func(done, total int64), finish func()) {
	if quiet || !term.IsTerminal(int(w.Fd())) {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	update = func(done, total int64) {
		if bar == nil {
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(name),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionThrottle(100e6),
				progressbar.OptionClearOnFinish(),
			)
		}
		bar.Set64(done)
	}
	finish = func() {
		if bar != nil {
			bar.Finish()
		}
	}
	return update, finish
}
