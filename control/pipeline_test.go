package control_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
)

// SIZE and MDTM asked together take one round trip, and each reply goes
// to its own command, refusals included.
func TestStatPipelinesSizeAndMdtm(t *testing.T) {
	t.Parallel()
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

// retrieve runs RETR path to its end and returns the data.
func retrieve(t *testing.T, c *control.Conn, path string) []byte {
	t.Helper()
	tr, err := c.StartTransfer(t.Context(), "RETR", path, 0)
	if err != nil {
		t.Fatalf("RETR %s: %v", path, err)
	}
	data, err := io.ReadAll(tr.Data)
	if err != nil {
		t.Fatalf("RETR %s data: %v", path, err)
	}
	if rep := <-tr.Final(); rep.Code != 226 {
		t.Fatalf("RETR %s: final %d %s", path, rep.Code, rep.Msg)
	}
	if _, err := tr.End(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	return data
}

// StatPassive writes SIZE, MDTM and EPSV in one round trip, and the RETR
// that follows uses the port that EPSV opened: no EPSV of its own. A
// command written in between forgets the port, and the transfer asks for
// a new one; so does a StatPassive whose file is gone, which leaves
// nothing waiting on the unused port.
func TestStatPassiveOpensTheNextTransfersPort(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	body := ftptest.RandomBytes(5000)
	f.WriteFile("/f", body, mod)
	c, err := control.Dial(t.Context(), f.Addr(), control.Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	f.ResetCounts()
	sts, err := c.StatPassive(t.Context(), "/f")
	if err != nil || len(sts) != 1 || sts[0].SizeErr != nil || sts[0].ModTimeErr != nil || sts[0].Size != 5000 || !sts[0].ModTime.Equal(mod) {
		t.Fatalf("StatPassive: %+v, %v", sts, err)
	}
	if n, rt := f.Count(""), f.RoundTrips(); n != 3 || rt != 1 {
		t.Errorf("%d commands in %d round trips, want SIZE, MDTM, EPSV in 1", n, rt)
	}
	if got := retrieve(t, c, "/f"); !bytes.Equal(got, body) {
		t.Errorf("RETR after StatPassive: %d bytes, not the file", len(got))
	}
	if n := f.Count("EPSV"); n != 1 {
		t.Errorf("%d EPSVs, want 1: the transfer takes the port opened ahead", n)
	}

	f.ResetCounts()
	if _, err := c.StatPassive(t.Context(), "/f"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pwd(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := retrieve(t, c, "/f"); !bytes.Equal(got, body) {
		t.Errorf("RETR after StatPassive and PWD: %d bytes, not the file", len(got))
	}
	if n := f.Count("EPSV"); n != 2 {
		t.Errorf("%d EPSVs, want 2: a command in between forgets the port opened ahead", n)
	}

	f.ResetCounts()
	sts, err = c.StatPassive(t.Context(), "/gone", "/f")
	if err != nil || len(sts) != 2 || !control.IsCode(sts[0].SizeErr, 550) || sts[1].Size != 5000 || !sts[1].ModTime.Equal(mod) {
		t.Fatalf("StatPassive of a missing file and /f: %+v, %v", sts, err)
	}
	if n, rt := f.Count(""), f.RoundTrips(); n != 5 || rt != 1 {
		t.Errorf("%d commands in %d round trips, want SIZE, MDTM twice and EPSV in 1", n, rt)
	}
	if _, err := c.Stat(t.Context(), "/f"); err != nil {
		t.Fatal(err)
	}
	if got := retrieve(t, c, "/f"); !bytes.Equal(got, body) {
		t.Errorf("RETR after an unused port: %d bytes, not the file", len(got))
	}
	if n := f.Count("EPSV"); n != 2 {
		t.Errorf("%d EPSVs, want 2", n)
	}
}

// A port opened ahead that cannot be reached by the time the transfer
// starts (the server dropped the idle listener) costs one more EPSV, not
// the transfer.
func TestStatPassiveUnreachablePortAsksAgain(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	body := ftptest.RandomBytes(3000)
	f.WriteFile("/f", body, time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))
	var epsvs atomic.Int32
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb != "EPSV" || epsvs.Add(1) != 1 {
			return false
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Reply("425 no port")
			return true
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close() // nothing listens there any more
		s.Reply(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)", port))
		return true
	}
	c, err := control.Dial(t.Context(), f.Addr(), control.Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.StatPassive(t.Context(), "/f"); err != nil {
		t.Fatal(err)
	}
	if got := retrieve(t, c, "/f"); !bytes.Equal(got, body) {
		t.Errorf("RETR: %d bytes, not the file", len(got))
	}
	if n := epsvs.Load(); n != 2 {
		t.Errorf("%d EPSVs, want 2: the unreachable port, then a new one", n)
	}
}
