package control_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
)

func dialFakeTCP(t *testing.T, f *ftptest.Fake) *control.Conn {
	t.Helper()
	c, err := control.Dial(t.Context(), f.Addr(), control.Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f.ResetCounts()
	return c
}

// RNFR and RNTO go together, in one round trip; a refused RNFR is the
// error, and the RNTO written with it renames nothing.
func TestRename(t *testing.T) {
	f := ftptest.StartFake(t)
	f.WriteFile("/d/.a.keepftp-part", []byte("new"), time.Now())
	f.WriteFile("/d/a", []byte("old"), time.Now())
	c := dialFakeTCP(t, f)
	if err := c.Rename(t.Context(), "/d/.a.keepftp-part", "/d/a"); err != nil {
		t.Fatal(err)
	}
	if n, rt := f.Count(""), f.RoundTrips(); n != 2 || rt != 1 {
		t.Errorf("%d commands in %d round trips, want 2 in 1", n, rt)
	}
	if ff, _ := f.File("/d/a"); string(ff.Data) != "new" {
		t.Errorf("/d/a holds %q after the rename", ff.Data)
	}
	if _, ok := f.File("/d/.a.keepftp-part"); ok {
		t.Error("the old name is still there")
	}
	err := c.Rename(t.Context(), "/d/missing", "/d/a")
	if !control.IsCode(err, 550) || errors.Is(err, control.ErrRenameToRefused) {
		t.Errorf("rename of a missing file: %v, want RNFR's 550, not RNTO's refusal", err)
	}
	if ff, _ := f.File("/d/a"); string(ff.Data) != "new" {
		t.Errorf("/d/a holds %q after a refused rename", ff.Data)
	}
	f.NoRenameOver = true
	f.WriteFile("/d/b", []byte("b"), time.Now())
	if err := c.Rename(t.Context(), "/d/b", "/d/a"); !control.IsCode(err, 553) || !errors.Is(err, control.ErrRenameToRefused) {
		t.Errorf("rename over an existing file on a server that refuses it: %v, want RNTO's 553 (ErrRenameToRefused)", err)
	}
	if err := c.Rename(t.Context(), "/d/b", "/d/x\r\nDELE /d/a"); !errors.Is(err, control.ErrInvalidArgument) {
		t.Errorf("rename to a name with CR LF: %v, want ErrInvalidArgument", err)
	}
	if err := c.Delete(t.Context(), "/d/b"); err != nil {
		t.Errorf("DELE: %v", err)
	}
	if err := c.Delete(t.Context(), "/d/b"); !control.IsCode(err, 550) {
		t.Errorf("DELE of a missing file: %v, want 550", err)
	}
	if _, err := c.Pwd(t.Context()); err != nil {
		t.Errorf("PWD after: %v", err)
	}
}

// Each way of setting a time is written as its server takes it, with the
// read back (MLST where offered, else MDTM) in the same round trip; a
// server that does not take the form says so in setErr, and the read back
// shows the time unchanged.
func TestSetModTime(t *testing.T) {
	want := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	old := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, how := range control.SetTimeMethods {
		for _, mlst := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/MLST=%v", how, mlst), func(t *testing.T) {
				f := ftptest.StartFake(t)
				f.MLST = mlst
				f.SetTime = []string{how}
				f.WriteFile("/f", []byte("x"), old)
				var mu sync.Mutex
				var lines []string
				cfg := control.Config{Timeout: 5 * time.Second, Logf: func(format string, a ...any) {
					mu.Lock()
					lines = append(lines, fmt.Sprintf(format, a...))
					mu.Unlock()
				}}
				c, err := control.Dial(t.Context(), f.Addr(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				f.ResetCounts()
				got, setErr, err := c.SetModTime(t.Context(), how, "/f", want.Add(400*time.Millisecond))
				if err != nil || setErr != nil || !got.Equal(want) {
					t.Fatalf("SetModTime: %v, %v, %v; want %v", got, setErr, err, want)
				}
				if rt := f.RoundTrips(); rt != 1 {
					t.Errorf("%d round trips, want 1", rt)
				}
				wantLine := map[string]string{
					control.SetTimeMFMT:      "> MFMT 20210304050607 /f",
					control.SetTimeMDTM:      "> MDTM 20210304050607 /f",
					control.SetTimeSiteUtime: "> SITE UTIME 20210304050607 /f",
				}[how]
				mu.Lock()
				found := slices.Contains(lines, wantLine)
				mu.Unlock()
				if !found {
					t.Errorf("no %q in the protocol log %q", wantLine, lines)
				}
				// Another way is not taken by this server.
				other := control.SetTimeMFMT
				if how == other {
					other = control.SetTimeSiteUtime
				}
				got, setErr, err = c.SetModTime(t.Context(), other, "/f", old)
				if err != nil || setErr == nil || !got.Equal(want) {
					t.Errorf("SetModTime %s on a server without it: %v, %v, %v; want a refusal and the time unchanged", other, got, setErr, err)
				}
			})
		}
	}
}

func TestSetModTimeRefusesBadInput(t *testing.T) {
	f := ftptest.StartFake(t)
	c := dialFakeTCP(t, f)
	if _, _, err := c.SetModTime(t.Context(), "TOUCH", "/f", time.Now()); !errors.Is(err, control.ErrInvalidArgument) {
		t.Errorf("unknown way: %v", err)
	}
	if _, _, err := c.SetModTime(t.Context(), control.SetTimeMFMT, "/f\r\nDELE /g", time.Now()); !errors.Is(err, control.ErrInvalidArgument) {
		t.Errorf("CR LF in the path: %v", err)
	}
	if n := f.Count(""); n != 0 {
		t.Errorf("%d commands reached the server", n)
	}
}

// ModTimes asks many MDTMs in groups: one round trip per group.
func TestModTimes(t *testing.T) {
	f := ftptest.StartFake(t)
	var paths []string
	for i := range 40 {
		p := fmt.Sprintf("/f%02d", i)
		paths = append(paths, p)
		if i != 7 {
			f.WriteFile(p, nil, time.Date(2020, 1, 1, 0, 0, i, 0, time.UTC))
		}
	}
	c := dialFakeTCP(t, f)
	sts, err := c.ModTimes(t.Context(), paths...)
	if err != nil || len(sts) != 40 {
		t.Fatalf("ModTimes: %d, %v", len(sts), err)
	}
	for i, st := range sts {
		if i == 7 {
			if !control.IsCode(st.ModTimeErr, 550) {
				t.Errorf("missing file: %v", st.ModTimeErr)
			}
			continue
		}
		if st.ModTimeErr != nil || st.ModTime.Second() != i {
			t.Errorf("%s: %v %v", paths[i], st.ModTime, st.ModTimeErr)
		}
	}
	if rt := f.RoundTrips(); rt != 3 {
		t.Errorf("%d round trips for 40 MDTMs, want 3 (groups of 16)", rt)
	}
}
