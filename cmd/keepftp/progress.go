package main

import (
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keepftp/keepftp"
	"golang.org/x/term"
)

// bars draws, on a terminal, one line per active transfer, labelled with
// its local name, and a total line below them, redrawn in place five times
// a second from the Client's events; get, put and mirror use it alike.
// Log lines written through it (io.Writer) are printed above the bars.
//
// It draws the lines itself: progressbar/v3, the design's first choice,
// owns a single line of its writer (it moves back with \r and clears with
// its own width), has no way to hold several live bars, and its String()
// is the last throttled rendering, so several of its bars drawn by hand
// showed stale or missing lines (the total appeared only at the end). A
// block of plain lines, cut to the terminal's width and rewritten after
// moving the cursor up over the last drawing, is all that is needed.
type bars struct {
	w      io.Writer // a terminal (isTerminal)
	fd     int       // w's, for its width
	mu     sync.Mutex
	active map[string]*transfer // by local name
	order  []string             // in the order the transfers started
	files  int                  // files in all; -1 while unknown (patterns, mirror)
	ended  int                  // files done, unverified, up to date or failed
	ndone  notDone              // those of them that are not done
	bytes  int64                // bytes of the files that ended
	start  time.Time
	lines  int // lines of the last drawing, to move back over
	stop   chan struct{}
	done   chan struct{}
}

// notDone counts the files that ended without being done, apart, as the
// summary does: an unverified file is complete but nothing checked it.
type notDone struct {
	unverified, upToDate, failed int
}

// transfer is one active file.
type transfer struct {
	label       string
	done, size  int64   // size 0: unknown
	rate        float64 // bytes/s, smoothed; -1 until first measured
	lastBytes   int64
	lastSampled time.Time
}

const drawEvery = 200 * time.Millisecond

func newBars(w io.Writer, files int) *bars {
	fd, _ := terminal(w)
	b := &bars{w: w, fd: fd, active: map[string]*transfer{}, files: files, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

func (b *bars) event(e keepftp.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := e.Local
	if key == "" || key == "-" {
		key = e.URL
	}
	tr := b.active[key]
	switch e.Kind {
	case keepftp.EventStart, keepftp.EventProgress:
		if tr == nil {
			label := e.Local
			if label == "" || label == "-" {
				label = path.Base(e.URL)
			}
			tr = &transfer{label: safeText(label), rate: -1, lastSampled: time.Now(), lastBytes: max(e.Offset, e.Bytes)}
			b.active[key] = tr
			b.order = append(b.order, key)
		}
		if e.Size > 0 {
			tr.size = e.Size
		}
		if e.Kind == keepftp.EventProgress {
			tr.done = e.Bytes
		} else {
			tr.done = e.Offset
		}
	case keepftp.EventDone, keepftp.EventError, keepftp.EventSkip:
		if tr != nil {
			delete(b.active, key)
			b.order = remove(b.order, key)
		}
		b.ended++
		switch {
		case e.Kind == keepftp.EventError:
			b.ndone.failed++
		case e.Kind == keepftp.EventSkip:
			b.ndone.upToDate++
		case e.Reason == keepftp.NotVerified:
			b.ndone.unverified++
		}
		if e.Kind == keepftp.EventDone {
			b.bytes += e.Bytes
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
	t := time.NewTicker(drawEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.mu.Lock()
			b.draw(nil)
			b.mu.Unlock()
		case <-b.stop:
			return
		}
	}
}

// Write prints log lines above the bars: the bars are erased, the lines
// written, and the bars drawn again below them.
func (b *bars) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw(p)
	return len(p), nil
}

// width is the terminal's width, less one column so that a full line never
// wraps.
func (b *bars) width() int {
	w, _, err := term.GetSize(b.fd)
	if err != nil || w < 20 {
		w = 80
	}
	return w - 1
}

// draw rewrites the block: cursor up over the last drawing, the log lines
// (if any), then each line cleared to its end. b.mu is held.
func (b *bars) draw(logLines []byte) {
	var sb strings.Builder
	if b.lines > 0 {
		fmt.Fprintf(&sb, "\r\x1b[%dA\x1b[J", b.lines) // up, and clear to the end of the screen
	}
	sb.Write(logLines)
	w := b.width()
	now := time.Now()
	var activeBytes int64
	n := 0
	labelWidth := 0
	for _, k := range b.order {
		labelWidth = max(labelWidth, utf8.RuneCountInString(b.active[k].label))
	}
	labelWidth = min(labelWidth, w/3)
	for _, k := range b.order {
		tr := b.active[k]
		activeBytes += tr.done
		if dt := now.Sub(tr.lastSampled).Seconds(); dt >= 0.5 {
			r := float64(tr.done-tr.lastBytes) / dt
			if tr.rate < 0 {
				tr.rate = r
			} else {
				tr.rate = 0.6*tr.rate + 0.4*r // smoothed: steady to read
			}
			tr.lastBytes, tr.lastSampled = tr.done, now
		}
		sb.WriteString(fileLine(tr, labelWidth, w))
		sb.WriteString("\n")
		n++
	}
	if b.files != 1 || len(b.order) == 0 {
		sb.WriteString(b.totalLine(activeBytes, now, w))
		sb.WriteString("\n")
		n++
	}
	b.lines = n
	io.WriteString(b.w, sb.String())
}

// fileLine: "name  [=======>      ]  45%  12.3 MiB of 27.0 MiB  3.2 MiB/s".
func fileLine(tr *transfer, labelWidth, w int) string {
	const barWidth = 20
	var bar, pct, amount string
	if tr.size > 0 {
		frac := min(float64(tr.done)/float64(tr.size), 1)
		fill := int(frac * barWidth)
		bar = "[" + strings.Repeat("=", fill) + strings.Repeat(" ", barWidth-fill) + "]"
		if fill > 0 && fill < barWidth {
			bar = bar[:fill] + ">" + bar[fill+1:]
		}
		pct = fmt.Sprintf("%3.0f%%", frac*100)
		amount = sizeText(tr.done) + " of " + sizeText(tr.size)
	} else {
		bar = "[" + strings.Repeat("?", barWidth) + "]"
		pct = "  ?%"
		amount = sizeText(tr.done)
	}
	rate := "   … /s"
	if tr.rate >= 0 {
		rate = sizeText(int64(tr.rate)) + "/s"
	}
	right := fmt.Sprintf("  %s %s  %s  %s", bar, pct, amount, rate)
	label := tr.label
	if pad := labelWidth - utf8.RuneCountInString(label); pad > 0 {
		label += strings.Repeat(" ", pad)
	}
	return fit(label, right, w)
}

// totalLine: "total  3 of 10 files (1 unverified, 1 failed), 2 active  120.5 MiB
// 25.3 MiB/s  0:12": the files that ended, with those that are not done
// named as the summary names them.
func (b *bars) totalLine(activeBytes int64, now time.Time, w int) string {
	files := "?"
	if b.files >= 0 {
		files = fmt.Sprint(b.files)
	}
	s := fmt.Sprintf("total  %d of %s files", b.ended, files)
	var labels []string
	for _, n := range []struct {
		count int
		what  string
	}{{b.ndone.unverified, "unverified"}, {b.ndone.upToDate, "up to date"}, {b.ndone.failed, "failed"}} {
		if n.count > 0 {
			labels = append(labels, fmt.Sprintf("%d %s", n.count, n.what))
		}
	}
	if len(labels) > 0 {
		s += " (" + strings.Join(labels, ", ") + ")"
	}
	all := b.bytes + activeBytes
	took := now.Sub(b.start)
	rate := 0.0
	if took > 0 {
		rate = float64(all) / took.Seconds()
	}
	s += fmt.Sprintf(", %d active  %s  %s/s  %d:%02d", len(b.order), sizeText(all), sizeText(int64(rate)), int(took.Minutes()), int(took.Seconds())%60)
	return fit(s, "", w)
}

// fit joins a label and the rest of a line within w columns, shortening
// the label from the left ("…/dir/name") when it must.
func fit(label, rest string, w int) string {
	room := w - utf8.RuneCountInString(rest)
	if room < 8 {
		room = 8
	}
	if n := utf8.RuneCountInString(label); n > room {
		r := []rune(label)
		label = "…" + string(r[n-room+1:])
	}
	line := label + rest
	if r := []rune(line); len(r) > w {
		line = string(r[:w])
	}
	return line
}

func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/unit, "KiB"
	for _, next := range []string{"MiB", "GiB", "TiB"} {
		if v < unit {
			break
		}
		v, u = v/unit, next
	}
	return fmt.Sprintf("%.1f %s", v, u)
}

// close stops drawing and erases the bars: the summary follows.
func (b *bars) close() {
	close(b.stop)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lines > 0 {
		fmt.Fprintf(b.w, "\r\x1b[%dA\x1b[J", b.lines)
		b.lines = 0
	}
}
