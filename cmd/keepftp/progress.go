package main

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether f is a terminal: bars are for people, never
// for pipes and scripts.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// bars draws one progress bar per active transfer plus a total, on a
// terminal, redrawn in place a few times a second. It is fed the Client's
// events.
type bars struct {
	w     io.Writer
	mu    sync.Mutex
	files map[string]*fileBar
	order []string
	total *progressbar.ProgressBar
	lines int // lines drawn last time, to move back over
	stop  chan struct{}
	done  chan struct{}
}

type fileBar struct {
	bar  *progressbar.ProgressBar
	size int64
}

func newBars(w io.Writer, files int) *bars {
	b := &bars{w: w, files: map[string]*fileBar{}, stop: make(chan struct{}), done: make(chan struct{})}
	if files != 1 { // several files, or an unknown number (mirror): -1
		b.total = progressbar.NewOptions(files, progressbar.OptionSetWriter(io.Discard), progressbar.OptionSetDescription("files"), progressbar.OptionShowCount())
	}
	go b.loop()
	return b
}

func (b *bars) event(e keepftp.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := e.URL
	fb := b.files[key]
	switch e.Kind {
	case "start", "progress":
		if fb == nil {
			fb = &fileBar{bar: progressbar.NewOptions64(max(e.Size, 1),
				progressbar.OptionSetWriter(io.Discard),
				progressbar.OptionSetDescription(safeText(path.Base(key))),
				progressbar.OptionShowBytes(true),
				progressbar.OptionSetWidth(30))}
			b.files[key] = fb
			b.order = append(b.order, key)
		}
		if e.Size > 0 && e.Size != fb.size {
			fb.size = e.Size
			fb.bar.ChangeMax64(e.Size)
		}
		if e.Kind == "progress" {
			fb.bar.Set64(e.Bytes)
		} else {
			fb.bar.Set64(e.Offset)
		}
	case "done", "error", "skip":
		if fb != nil {
			delete(b.files, key)
			b.order = remove(b.order, key)
		}
		if b.total != nil {
			b.total.Add(1)
		}
	}
}

func remove(s []string, x string) []string {
	for i, v := range s {
		if v == x {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}

func (b *bars) loop() {
	defer close(b.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.draw()
		case <-b.stop:
			b.draw()
			return
		}
	}
}

// draw rewrites the bars in place: cursor up over the last drawing, each
// line cleared to its end.
func (b *bars) draw() {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	if b.lines > 0 {
		fmt.Fprintf(&sb, "\x1b[%dA", b.lines)
	}
	keys := append([]string(nil), b.order...)
	sort.Strings(keys)
	n := 0
	for _, k := range keys {
		fmt.Fprintf(&sb, "\r%s\x1b[K\n", b.files[k].bar.String())
		n++
	}
	if b.total != nil {
		fmt.Fprintf(&sb, "\r%s\x1b[K\n", b.total.String())
		n++
	}
	for i := n; i < b.lines; i++ { // clear lines left over from a longer drawing
		sb.WriteString("\r\x1b[K\n")
	}
	if extra := b.lines - n; extra > 0 {
		fmt.Fprintf(&sb, "\x1b[%dA", extra)
	}
	b.lines = n
	io.WriteString(b.w, sb.String())
}

// close draws a last time and leaves the cursor below the bars.
func (b *bars) close() {
	close(b.stop)
	<-b.done
}
