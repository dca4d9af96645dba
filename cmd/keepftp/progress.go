package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keepftp/keepftp"
	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// drawEvery is how often the bars are drawn, and how often the Client
// reports progress while they are up.
const drawEvery = 200 * time.Millisecond

// barWidth is the width of a bar's [=====>    ], brackets included; mpb
// narrows it first when a line would not fit the terminal.
const barWidth = 22

// bars draws, on a terminal, one line per active transfer, labelled with
// its local name, and a total line below them, from the Client's events;
// get, put and mirror use it alike. Log lines written through it
// (io.Writer) are printed above the bars.
//
// The terminal is github.com/vbauerster/mpb/v8's: it holds several live
// bars, prints log lines above them in the same write as the next frame
// (no tearing, no flicker), reads the terminal's width at each frame (a
// resize narrows the bar, then cuts the line's end), keeps the bars
// within the terminal's height, and aligns the columns of all bars. This
// departs from the design, which named schollz/progressbar/v3: that one
// owns a single line of its writer (it returns with \r and clears with
// its own width), so several live bars, or a log line above one, tear.
//
// What is ours is the columns' text: the local name escaped (text.go)
// and shortened from the left (a path's end says most; mpb cuts the
// right), "?" for a size the server did not give, and the rate and ETA,
// measured at each frame from the bytes done, so that a stalled transfer
// shows its rate falling. mpb's EWMA rate learns only from increments,
// and a stall sends none: it would show the last rate for ever.
type bars struct {
	w   io.Writer // the terminal (isTerminal)
	p   *mpb.Progress
	sec *secrets // masked in every label and log line (mpb needs the terminal itself)

	// opMu orders the calls into mpb that events make: a file's bar is
	// made before it moves, and dropped once. mpb's goroutines never take
	// it.
	opMu    sync.Mutex
	lines   map[string]*mpb.Bar // by file key
	total   *mpb.Bar            // nil once dropped
	closing bool                // no new bars: mpb's Wait would wait for them

	// mu guards the tally, which the total line's decorator reads from
	// mpb's goroutines: it is never held while calling into mpb.
	mu sync.Mutex
	t  tally

	// wmu orders log lines and close: a line written before close is in
	// the frame that erases the bars; one written after goes straight to
	// the terminal.
	wmu    sync.Mutex
	closed bool
	once   sync.Once
}

// newBars starts the bars. They go when close is called, or at once when
// ctx ends (Ctrl-C): the transfers may take their time to wind down, up
// to interruptGrace, and the process may end before close is reached.
func newBars(ctx context.Context, w io.Writer, sec *secrets, files int) *bars {
	b := &bars{
		w:     w,
		sec:   sec,
		p:     mpb.New(mpb.WithConsoleWriter(frameWriter(w)), mpb.WithRefreshRate(drawEvery)),
		lines: map[string]*mpb.Bar{},
		t:     tally{files: files, active: map[string]int64{}, start: time.Now()},
	}
	// The total line is the last line: the highest priority number.
	b.total, _ = b.p.Add(0, mpb.NopStyle().Build(), mpb.BarPriority(math.MaxInt), mpb.BarFillerTrim(),
		mpb.PrependDecorators(decor.Any(func(s decor.Statistics) string {
			b.mu.Lock()
			defer b.mu.Unlock()
			return cutRight(b.t.line(time.Now()), s.AvailableWidth-1)
		})))
	context.AfterFunc(ctx, b.close)
	return b
}

// frameWriter is mpb's own terminal writer (cupwriter), with every frame
// begun at the line's first column. It redraws by moving the cursor up as
// many lines as the last frame drew, which keeps the column; but the
// terminal echoes what is typed while the bars are up, Ctrl-C's "^C" too,
// at the cursor below them. A frame begun two columns in, with a line
// that then wraps, is a row taller than mpb counts, and its top row is
// left on the screen for good.
func frameWriter(w io.Writer) *cupwriter.Writer {
	cw := cupwriter.New(&lineStart{w: w}, false)
	if fd, ok := terminal(w); ok {
		cw.SetTermFd(fd) // New knows a terminal only by *os.File
	}
	return cw
}

// lineStart writes a carriage return before each write. cupwriter writes
// a whole frame at a time: the cursor's move up to the last frame's top,
// then the new frame.
type lineStart struct {
	w   io.Writer
	buf []byte // reused: one frame at a time, from mpb's drawing goroutine
}

func (l *lineStart) Write(p []byte) (int, error) {
	l.buf = append(append(l.buf[:0], '\r'), p...)
	if _, err := l.w.Write(l.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (b *bars) event(e keepftp.Event) {
	key := e.Local
	if key == "" || key == "-" {
		key = e.URL
	}
	b.opMu.Lock()
	defer b.opMu.Unlock()
	if b.closing {
		// The bars went (Ctrl-C) while the transfers wind down: no
		// more lines.
		return
	}
	b.mu.Lock()
	moving, ended := b.t.event(key, e)
	single := b.t.files == 1
	b.mu.Unlock()
	bar := b.lines[key]
	switch {
	case ended:
		if bar != nil {
			bar.Abort(true) // gone at the next frame
			delete(b.lines, key)
		}
	case moving:
		done := e.Offset
		if e.Kind == keepftp.EventProgress {
			done = e.Bytes
		}
		if bar == nil {
			label := e.Local
			if label == "" || label == "-" {
				label = path.Base(e.URL)
			}
			var err error
			if bar, err = b.p.Add(0, mpb.BarStyle().Padding(" ").Build(), fileBar(string(b.sec.mask([]byte(safeText(label)))), done)...); err != nil {
				return // closed: no more bars
			}
			b.lines[key] = bar
			if single && b.total != nil {
				// One file: its own line says it all.
				b.total.Abort(true)
				b.total = nil
			}
		}
		if e.Size > 0 {
			bar.SetTotal(e.Size, false) // total set this way never completes the bar: an event ends it
		}
		bar.SetCurrent(done)
	}
}

// fileBar is a transfer's line:
//
//	name  [=========>          ]  45%  12.3 MiB of 27.0 MiB  3.2 MiB/s  ETA 0:04
//
// The bar is made with total 0, so that reaching its size never ends it
// (the file is done when its event says so, after verification).
func fileBar(label string, start int64) []mpb.BarOption {
	return []mpb.BarOption{
		mpb.BarWidth(barWidth),
		mpb.BarFillerMiddleware(barFiller),
		mpb.PrependDecorators(decor.Any(func(s decor.Statistics) string {
			return shortenLeft(label, max(8, s.AvailableWidth/3))
		}, decor.WCSyncWidthR)),
		mpb.AppendDecorators(
			decor.Any(func(s decor.Statistics) string {
				if s.Total <= 0 {
					return "?%"
				}
				return fmt.Sprintf("%d%%", min(100, s.Current*100/s.Total))
			}, decor.WC{W: 4}),
			decor.Any(func(s decor.Statistics) string {
				if s.Total <= 0 {
					return "  " + sizeText(s.Current)
				}
				return "  " + sizeText(s.Current) + " of " + sizeText(s.Total)
			}, decor.WCSyncWidth),
			decor.Any(rateColumn(start), decor.WCSyncWidthR),
		),
	}
}

// barFiller draws the bar, or [????????] for a file whose size the server
// did not give. It leaves the terminal's last column free: mpb gives the
// bar all the room the columns leave, and a line that fills the width
// wraps on some terminals.
func barFiller(bar mpb.BarFiller) mpb.BarFiller {
	return mpb.BarFillerFunc(func(w io.Writer, s decor.Statistics) error {
		s.AvailableWidth--
		if s.Total > 0 {
			return bar.Fill(w, s)
		}
		width := s.AvailableWidth
		if s.RequestedWidth > 0 {
			width = min(width, s.RequestedWidth)
		}
		if width < 2 {
			return nil
		}
		_, err := io.WriteString(w, "["+strings.Repeat("?", width-2)+"]")
		return err
	})
}

// rateColumn is "  3.2 MiB/s  ETA 0:04": the rate sampled at a frame at
// least half a second after the last sample and smoothed (steady to
// read), from the bytes the transfer started at (a resumed file's offset
// is no speed). A frame is drawn whether or not bytes came, so a stall
// shows. Only the bar's own frames call it, one at a time.
func rateColumn(start int64) decor.DecorFunc {
	rate := -1.0 // bytes/s; unknown until the first sample
	lastBytes, lastSampled := start, time.Now()
	return func(s decor.Statistics) string {
		now := time.Now()
		if dt := now.Sub(lastSampled).Seconds(); dt >= 0.5 {
			r := max(0, float64(s.Current-lastBytes)/dt) // < 0: restarted from 0
			if rate < 0 {
				rate = r
			} else {
				rate = 0.6*rate + 0.4*r
			}
			lastBytes, lastSampled = s.Current, now
		}
		if rate < 0 {
			return "  … /s"
		}
		text := "  " + sizeText(int64(rate)) + "/s"
		if s.Total > 0 && rate >= 1 {
			text += "  ETA " + clock(time.Duration(float64(s.Total-s.Current)/rate*float64(time.Second)))
		}
		return text
	}
}

// Write prints log lines above the bars, in the next frame.
func (b *bars) Write(p []byte) (int, error) {
	n := len(p)
	p = b.sec.mask(p)
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if !b.closed {
		if _, err := b.p.Write(p); err == nil {
			return n, nil
		}
		// mpb stopped (it could not read the terminal): print directly.
	}
	if _, err := b.w.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}

// close erases the bars: the summary follows. The frame that drops them
// also prints the log lines written before.
func (b *bars) close() { b.once.Do(b.erase) }

func (b *bars) erase() {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.opMu.Lock()
	b.closing = true
	for k, bar := range b.lines {
		bar.Abort(true)
		delete(b.lines, k)
	}
	if b.total != nil {
		b.total.Abort(true)
		b.total = nil
	}
	b.opMu.Unlock()
	b.p.Wait()
	b.closed = true
}

// tally is what the total line counts: the files that ended, with those
// that are not done apart, and the bytes of the files still moving.
type tally struct {
	files  int              // files in all; -1 while unknown (patterns, mirror)
	ended  int              // files done, unverified, up to date or failed
	ndone  notDone          // those of them that are not done
	bytes  int64            // bytes of the files that ended done
	active map[string]int64 // bytes done of each moving file, by key
	start  time.Time
}

// notDone counts the files that ended without being done, apart, as the
// summary does: an unverified file is complete but nothing checked it.
type notDone struct {
	unverified, upToDate, failed int
}

// event counts e; moving reports a file started or progressing, ended
// one that is done, failed or skipped.
func (t *tally) event(key string, e keepftp.Event) (moving, ended bool) {
	switch e.Kind {
	case keepftp.EventStart:
		t.active[key] = e.Offset
		return true, false
	case keepftp.EventProgress:
		t.active[key] = e.Bytes
		return true, false
	case keepftp.EventDone, keepftp.EventError, keepftp.EventSkip:
		delete(t.active, key)
		t.ended++
		switch {
		case e.Kind == keepftp.EventError:
			t.ndone.failed++
		case e.Kind == keepftp.EventSkip:
			t.ndone.upToDate++
		case e.Reason == keepftp.NotVerified:
			t.ndone.unverified++
		}
		if e.Kind == keepftp.EventDone {
			t.bytes += e.Bytes
		}
		return false, true
	}
	return false, false
}

// line: "total  3 of 10 files (1 unverified, 1 failed), 2 active  120.5 MiB
// 25.3 MiB/s  0:12": the files that ended, with those that are not done
// named as the summary names them.
func (t *tally) line(now time.Time) string {
	files := "?"
	if t.files >= 0 {
		files = fmt.Sprint(t.files)
	}
	s := fmt.Sprintf("total  %d of %s files", t.ended, files)
	var labels []string
	for _, n := range []struct {
		count int
		what  string
	}{{t.ndone.unverified, "unverified"}, {t.ndone.upToDate, "up to date"}, {t.ndone.failed, "failed"}} {
		if n.count > 0 {
			labels = append(labels, fmt.Sprintf("%d %s", n.count, n.what))
		}
	}
	if len(labels) > 0 {
		s += " (" + strings.Join(labels, ", ") + ")"
	}
	all := t.bytes
	for _, n := range t.active {
		all += n
	}
	took := now.Sub(t.start)
	rate := 0.0
	if took > 0 {
		rate = float64(all) / took.Seconds()
	}
	return s + fmt.Sprintf(", %d active  %s  %s/s  %s", len(t.active), sizeText(all), sizeText(int64(rate)), clock(took))
}

// clock is a duration as m:ss, or h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d.Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// shortenLeft cuts s to at most n runes, from the left ("…/dir/name").
func shortenLeft(s string, n int) string {
	if c := utf8.RuneCountInString(s); c > n {
		r := []rune(s)
		return "…" + string(r[c-n+1:])
	}
	return s
}

// cutRight cuts s to at most n runes, from the right ("total  3 of 1…"):
// the total line's start says most.
func cutRight(s string, n int) string {
	if c := utf8.RuneCountInString(s); c > n {
		return string([]rune(s)[:max(n-1, 0)]) + "…"
	}
	return s
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
