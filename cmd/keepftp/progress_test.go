package main

import (
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp"
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
