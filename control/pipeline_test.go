package control_test

import (
	"errors"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
)

// SIZE and MDTM asked together take one round trip, and each reply goes
// to its own command, refusals included.
func TestStatPipelinesSizeAndMdtm(t *testing.T) {
	f := ftptest.StartFake(t)
	mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	f.WriteFile("/f", make([]byte, 1234), mod)
	c, err := control.Dial(t.Context(), f.Addr(), control.Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f.ResetCounts()
	st, err := c.Stat(t.Context(), "/f")
	if err != nil || st.SizeErr != nil || st.ModTimeErr != nil {
		t.Fatalf("Stat: %+v, %v", st, err)
	}
	if st.Size != 1234 || !st.ModTime.Equal(mod) {
		t.Errorf("Stat = %d %v, want 1234 %v", st.Size, st.ModTime, mod)
	}
	if n, rt := f.Count(""), f.RoundTrips(); n != 2 || rt != 1 {
		t.Errorf("%d commands in %d round trips, want 2 in 1", n, rt)
	}
	st, err = c.Stat(t.Context(), "/missing")
	if err != nil || !control.IsCode(st.SizeErr, 550) || !control.IsCode(st.ModTimeErr, 550) {
		t.Errorf("Stat of a missing file: %+v, %v; want both 550", st, err)
	}
	// The connection is still in step: the next lockstep command gets its
	// own reply.
	if _, err := c.Pwd(t.Context()); err != nil {
		t.Errorf("PWD after the batches: %v", err)
	}
	f.ResetCounts()
	if _, err := c.Batch(t.Context(), control.Command{Verb: "SIZE", Arg: "/ok", Expect: 213}, control.Command{Verb: "MDTM", Arg: "/x\r\nDELE /f", Expect: 213}); !errors.Is(err, control.ErrInvalidArgument) {
		t.Errorf("Batch with CR LF in an argument: %v, want ErrInvalidArgument", err)
	}
	if n := f.Count(""); n != 0 {
		t.Errorf("%d commands reached the server from a refused batch", n)
	}
}
