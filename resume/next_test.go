package resume

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
)

// The look at the next file comes back as Get's result: Options.Next is
// asked once, when the check after the transfer is made, and the next
// file's size and time, asked in the same round trip, are Outcome.Next.
func TestGetReturnsTheLookAtTheNextFile(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t) // no MLST: the check asks SIZE and MDTM
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f.WriteFile("/a", ftptest.RandomBytes(3000), mtime)
	f.WriteFile("/b", ftptest.RandomBytes(5000), mtime.Add(time.Hour))
	calls := 0
	o := Options{Timeout: 5 * time.Second, Policy: fastRetries, Noops: &noop.Registry{}, Next: func() string {
		calls++
		if f.Count("RETR") != 1 {
			t.Errorf("Next asked before the transfer's check (%d RETR)", f.Count("RETR"))
		}
		return "/b"
	}}
	out, err := Get(t.Context(), target(t, f.Addr(), "/a"), filepath.Join(t.TempDir(), "a"), o)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("Next called %d times, want once", calls)
	}
	if out.Next == nil || out.Next.Size != 5000 || !out.Next.ModTime.Equal(mtime.Add(time.Hour)) {
		t.Errorf("Outcome.Next = %+v, want /b's size 5000 and time", out.Next)
	}
	if n := f.Count("SIZE"); n != 3 {
		t.Errorf("%d SIZE, want 3 (before /a, then after it with /b's)", n)
	}

	// Without Next, no look and no result.
	o.Next = nil
	out, err = Get(t.Context(), target(t, f.Addr(), "/b"), filepath.Join(t.TempDir(), "b"), o)
	if err != nil || out.Next != nil {
		t.Errorf("without Next: %v, Outcome.Next = %+v", err, out.Next)
	}
}

// A listing's facts (Options.Known): complete ones (size and a time to
// the second) replace the look before the first attempt, and the check
// after the transfer still asks the server, so a file that changed since
// the listing is caught and fetched again; incomplete ones (a LIST's
// size, with no time) do not replace the look.
func TestGetStartsFromKnownFacts(t *testing.T) {
	t.Parallel()
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	data := ftptest.RandomBytes(3000)
	size := int64(len(data))
	for _, c := range []struct {
		name    string
		known   Remote
		before  []string // the looks before the first RETR
		retrs   int
		restart bool
	}{
		{"complete", Remote{Size: size, ModTime: mtime}, nil, 1, false},
		{"a time older than the server's", Remote{Size: size, ModTime: mtime.Add(-time.Hour)}, nil, 2, true},
		{"no time (LIST)", Remote{Size: size}, []string{"SIZE /a", "MDTM /a"}, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := ftptest.StartFake(t) // no MLST: looks are SIZE and MDTM
			f.WriteFile("/a", data, mtime)
			var events eventLog
			dst := filepath.Join(t.TempDir(), "a")
			o := Options{Timeout: 5 * time.Second, Policy: fastRetries, Noops: &noop.Registry{}, Known: &c.known, Events: events.add}
			out, err := Get(t.Context(), target(t, f.Addr(), "/a"), dst, o)
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, dst, data)
			log := f.Log()
			var before []string
			for _, l := range log[:slices.Index(log, "RETR /a")] {
				if strings.HasPrefix(l, "SIZE") || strings.HasPrefix(l, "MDTM") {
					before = append(before, l)
				}
			}
			if !slices.Equal(before, c.before) {
				t.Errorf("looks before the first RETR: %q, want %q", before, c.before)
			}
			if n := f.Count("RETR"); n != c.retrs || out.Attempts != c.retrs {
				t.Errorf("%d RETR in %d attempts, want %d", n, out.Attempts, c.retrs)
			}
			if i := slices.Index(log, "RETR /a"); !slices.Contains(log[i:], "MDTM /a") {
				t.Errorf("no check after the transfer: %q", log[i:])
			}
			if got := events.count(EventRestart) > 0; got != c.restart {
				t.Errorf("restarted %v, want %v", got, c.restart)
			}
			if out.Verified != "size" || out.Size != size {
				t.Errorf("verified %q, size %d", out.Verified, out.Size)
			}
		})
	}
}
