package main

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// TestTotalLineCountsLikeSummary: the live total line names the files that
// ended without being done (unverified, up to date, failed), as the
// summary does, rather than counting an unverified file among the done.
func TestTotalLineCountsLikeSummary(t *testing.T) {
	b := &tally{active: map[string]int64{}, files: 5, start: time.Now()}
	for _, e := range []keepftp.Event{
		{Kind: keepftp.EventDone, Local: "a", Bytes: 10, Reason: "SHA-256"},
		{Kind: keepftp.EventDone, Local: "b", Bytes: 10, Reason: keepftp.NotVerified},
		{Kind: keepftp.EventSkip, Local: "c"},
		{Kind: keepftp.EventError, Local: "d", Reason: "550 gone"},
		{Kind: keepftp.EventStart, Local: "e", Size: 100},
	} {
		b.event(e.Local, e)
	}
	got := b.line(time.Now())
	if want := "total  4 of 5 files (1 unverified, 1 up to date, 1 failed), 1 active"; !strings.HasPrefix(got, want) {
		t.Errorf("total line %q, want it to start with %q", got, want)
	}
	b = &tally{active: map[string]int64{}, files: 1, start: time.Now()}
	b.event("a", keepftp.Event{Kind: keepftp.EventDone, Local: "a", Bytes: 10, Reason: "size"})
	if got := b.line(time.Now()); !strings.HasPrefix(got, "total  1 of 1 files, 0 active") {
		t.Errorf("total line %q for one file done", got)
	}
}

// TestFileBarLine: a transfer's line, drawn by mpb with our columns: the
// name, the bar, percent, bytes of the size; for a file of unknown size
// [????] and ?%, and no "of". The names' column is as wide as the longest
// name. Where the line would not fit, the bar narrows, and the last
// column stays free.
func TestFileBarLine(t *testing.T) {
	t.Parallel()
	lines := fileBarFrame(t, 100)
	for i, want := range []string{
		"dir/known.bin [====>               ]  25%  256.0 KiB of 1.0 MiB  … /s",
		"u.bin         [????????????????????]   ?%              50.0 KiB  … /s",
	} {
		if got := strings.TrimRight(lines[i], " "); got != want {
			t.Errorf("line %d:\n got %q\nwant %q", i, got, want)
		}
	}
	const narrow = 64
	lines = fileBarFrame(t, narrow)
	for i, want := range []string{"dir/known.bin [===>", "u.bin         [?????"} {
		if !strings.HasPrefix(lines[i], want) || !strings.Contains(lines[i], "  … /s") {
			t.Errorf("at %d columns, line %d is %q: want it to start %q and keep the rate", narrow, i, lines[i], want)
		}
		if n := len([]rune(lines[i])); n >= narrow {
			t.Errorf("at %d columns, line %d is %d wide: it fills the width", narrow, i, n)
		}
	}
}

// fileBarFrame draws one frame of two file bars, width columns wide (a
// buffer is no terminal: mpb takes the width it is given), and returns
// its lines.
func fileBarFrame(t *testing.T, width int) []string {
	t.Helper()
	var out bytes.Buffer
	refresh := make(chan any)
	p := mpb.New(mpb.WithOutput(&out), mpb.WithManualRefresh(refresh), mpb.WithWidth(width))
	known, err := p.Add(0, mpb.BarStyle().Padding(" ").Build(), fileBar("dir/known.bin", 0)...)
	if err != nil {
		t.Fatal(err)
	}
	known.SetTotal(1<<20, false)
	known.SetCurrent(256 << 10)
	unknown, err := p.Add(0, mpb.BarStyle().Padding(" ").Build(), fileBar("u.bin", 0)...)
	if err != nil {
		t.Fatal(err)
	}
	unknown.SetCurrent(50 << 10)
	refresh <- time.Now()
	known.Abort(true)
	unknown.Abort(true)
	p.Wait()
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 3 {
		t.Fatalf("no frame: %q", out.String())
	}
	return lines[:2]
}

// TestRateShowsAStall: the rate is sampled at each frame, so when no bytes
// come it falls, frame by frame, instead of showing the last rate (mpb's
// EWMA decorators learn only from increments, and a stall sends none).
func TestRateShowsAStall(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rate := rateColumn(100 << 20) // resumed at 100 MiB: no speed
		stat := decor.Statistics{Total: 200 << 20, Current: 100 << 20}
		if got := rate(stat); got != "  … /s" {
			t.Errorf("before a sample: %q", got)
		}
		time.Sleep(time.Second)
		stat.Current += 1 << 20
		if got := rate(stat); got != "  1.0 MiB/s  ETA 1:39" {
			t.Errorf("after 1 MiB in 1 s: %q", got)
		}
		for _, want := range []string{"  614.4 KiB/s  ETA 2:45", "  368.6 KiB/s  ETA 4:35", "  221.2 KiB/s  ETA 7:38"} {
			time.Sleep(time.Second) // nothing comes
			if got := rate(stat); got != want {
				t.Errorf("stalled: %q, want %q", got, want)
			}
		}
	})
}
