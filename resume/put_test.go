package resume

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
)

// scriptedConns hands each attempt the next scripted server's connection.
type scriptedConns struct {
	dials []func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (s *scriptedConns) Conn(ctx context.Context, t Target) (*control.Conn, error) {
	d := s.dials[0]
	s.dials = s.dials[1:]
	return control.Dial(ctx, t.Addr, control.Config{Timeout: 10 * time.Second, DialContext: d})
}

func (s *scriptedConns) Release(c *control.Conn, healthy bool) { c.Close() }

// An upload cut after 4 bytes, to a server without REST STREAM: the retry
// asks SIZE and appends the rest with APPE.
func TestPutResumesWithAPPEWithoutRestStream(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "up")
		os.WriteFile(src, []byte("0123456789"), 0o644)
		first, dial1 := ftptest.New(t)
		second, dial2 := ftptest.New(t)
		var got []byte
		go func() { // attempt 1: the data connection breaks after 4 bytes
			first.Login()
			first.Serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
			d := <-first.Data
			first.Serve("STOR /up", "150 go ahead")
			b := make([]byte, 4)
			io.ReadFull(d, b)
			got = append(got, b...)
			d.Close()
			first.Send("426 Connection closed; transfer aborted.")
		}()
		done := make(chan struct{})
		go func() { // attempt 2: no REST STREAM in FEAT
			defer close(done)
			second.Send("220 hi")
			second.Serve("USER anonymous", "331 pw")
			second.Serve("PASS keepftp@", "230 ok")
			second.Serve("FEAT", "211-Features:", " SIZE", " MDTM", "211 End")
			second.Serve("OPTS UTF8 ON", "501 no")
			second.Serve("TYPE I", "200 ok")
			second.Serve("SIZE /up", "213 4")
			second.Serve("EPSV", "229 Entering Extended Passive Mode (|||40001|)")
			d := <-second.Data
			second.Serve("APPE /up", "150 appending")
			rest, _ := io.ReadAll(d)
			got = append(got, rest...)
			second.Send("226 ok")
			second.Serve("SIZE /up", "213 10")
		}()
		conns := &scriptedConns{dials: []func(context.Context, string, string) (net.Conn, error){dial1, dial2}}
		tg := Target{Addr: "127.0.0.1:21", Path: "/up"}
		out, err := Put(t.Context(), src, tg, Options{Conns: conns, Inplace: true, NoMtime: true, Policy: Policy{Retries: 2, BaseDelay: time.Second, Jitter: noJitter}})
		<-done
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if string(got) != "0123456789" || out.Attempts != 2 || out.Verified != "size" {
			t.Errorf("server got %q in %d attempts (verified %q), want the file in 2 with APPE", got, out.Attempts, out.Verified)
		}
	})
}

// A server that reports less than was sent (it dropped the end of the
// upload after the data left keepftp, as pyftpdlib does with a TLS upload
// closed by a reset): a transient fault, resumed from the server's size
// and verified, not a verification failure.
func TestPutShortUploadResumes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "up")
		os.WriteFile(src, []byte("0123456789"), 0o644)
		first, dial1 := ftptest.New(t)
		second, dial2 := ftptest.New(t)
		var got []byte
		go func() { // attempt 1: all 10 bytes sent, the server keeps 6
			first.Login()
			first.Serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
			d := <-first.Data
			first.Serve("STOR /up", "150 go ahead")
			all, _ := io.ReadAll(d)
			got = append(got, all[:6]...)
			first.Send("226 Transfer complete.")
			first.Serve("SIZE /up", "213 6")
		}()
		done := make(chan struct{})
		go func() { // attempt 2: SIZE says 6, REST 6 + STOR sends the rest
			defer close(done)
			second.Login()
			second.Serve("SIZE /up", "213 6")
			second.Serve("EPSV", "229 Entering Extended Passive Mode (|||40001|)")
			d := <-second.Data
			second.Serve("REST 6", "350 Restarting at 6")
			second.Serve("STOR /up", "150 go ahead")
			rest, _ := io.ReadAll(d)
			got = append(got, rest...)
			second.Send("226 ok")
			second.Serve("SIZE /up", "213 10")
		}()
		conns := &scriptedConns{dials: []func(context.Context, string, string) (net.Conn, error){dial1, dial2}}
		tg := Target{Addr: "127.0.0.1:21", Path: "/up"}
		var retries []Event
		o := Options{Conns: conns, NoVerify: true, Inplace: true, NoMtime: true, Policy: Policy{Retries: 2, BaseDelay: time.Second, Jitter: noJitter},
			Events: func(e Event) {
				if e.Kind == EventRetry {
					retries = append(retries, e)
				}
			}}
		out, err := Put(t.Context(), src, tg, o)
		<-done
		if err != nil {
			t.Fatalf("Put: %v (class %v)", err, Classify(err))
		}
		if string(got) != "0123456789" || out.Attempts != 2 || out.Verified != "size" {
			t.Errorf("server got %q in %d attempts (verified %q), want the file in 2", got, out.Attempts, out.Verified)
		}
		if len(retries) != 1 || retries[0].Offset != -1 {
			t.Errorf("retry events %+v: want one, resuming where the server's SIZE says (-1)", retries)
		}
	})
}

// An empty file whose first STOR was lost with its control connection:
// the retry's SIZE says the server has no such file, which is not "all 0
// bytes are there". The file is stored, and verified.
func TestPutEmptyFileRetriedAfterLostSTOR(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "empty")
		os.WriteFile(src, nil, 0o644)
		first, dial1 := ftptest.New(t)
		second, dial2 := ftptest.New(t)
		stored := false
		go func() { // attempt 1: the control connection dies at STOR
			first.Login()
			first.Serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
			<-first.Data
			first.Expect("STOR /empty")
			first.Ctrl.Close()
		}()
		done := make(chan struct{})
		go func() { // attempt 2: no such file yet
			defer close(done)
			second.Login()
			second.Serve("SIZE /empty", "550 Could not get file size.")
			second.Serve("EPSV", "229 Entering Extended Passive Mode (|||40001|)")
			d := <-second.Data
			second.Serve("STOR /empty", "150 go ahead")
			io.ReadAll(d)
			stored = true
			second.Send("226 ok")
			second.Serve("SIZE /empty", "213 0")
		}()
		conns := &scriptedConns{dials: []func(context.Context, string, string) (net.Conn, error){dial1, dial2}}
		tg := Target{Addr: "127.0.0.1:21", Path: "/empty"}
		out, err := Put(t.Context(), src, tg, Options{Conns: conns, NoVerify: true, Inplace: true, NoMtime: true, Policy: Policy{Retries: 2, BaseDelay: time.Second, Jitter: noJitter}})
		<-done
		if err != nil {
			t.Fatalf("Put: %v (class %v)", err, Classify(err))
		}
		if !stored || out.Attempts != 2 || out.Verified != "size" {
			t.Errorf("stored %v in %d attempts (verified %q); want a STOR on the second attempt, checked by size", stored, out.Attempts, out.Verified)
		}
	})
}

// vsftpd's "500 OOPS: vsf_sysutil_bind" (no passive port free in its
// range) ends its session: it fails the connection, not the file, and the
// retry on a new connection stores the file.
func TestPutRetriesAfterVsftpdOOPS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "up")
		os.WriteFile(src, []byte("0123456789"), 0o644)
		first, dial1 := ftptest.New(t)
		second, dial2 := ftptest.New(t)
		var got []byte
		go func() { // attempt 1: the session dies at PASV (no EPSV here)
			first.Login()
			first.Serve("EPSV", "500 Unknown command.")
			first.Serve("PASV", "500 OOPS: vsf_sysutil_bind")
			first.Ctrl.Close()
		}()
		done := make(chan struct{})
		go func() {
			defer close(done)
			second.Login()
			second.Serve("SIZE /up", "550 Could not get file size.")
			second.Serve("EPSV", "500 Unknown command.")
			second.Serve("PASV", "227 Entering Passive Mode (127,0,0,1,156,65)")
			d := <-second.Data
			second.Serve("STOR /up", "150 go ahead")
			got, _ = io.ReadAll(d)
			second.Send("226 ok")
			second.Serve("SIZE /up", "213 10")
		}()
		conns := &scriptedConns{dials: []func(context.Context, string, string) (net.Conn, error){dial1, dial2}}
		tg := Target{Addr: "127.0.0.1:21", Path: "/up"}
		out, err := Put(t.Context(), src, tg, Options{Conns: conns, NoVerify: true, Inplace: true, NoMtime: true, Policy: Policy{Retries: 2, BaseDelay: time.Second, Jitter: noJitter}})
		<-done
		if err != nil {
			t.Fatalf("Put: %v (class %v)", err, Classify(err))
		}
		if string(got) != "0123456789" || out.Attempts != 2 {
			t.Errorf("server got %q in %d attempts; want the file on the second", got, out.Attempts)
		}
	})
}
