package resume

import (
	"path/filepath"
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
