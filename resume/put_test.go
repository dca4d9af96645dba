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
		out, err := Put(t.Context(), src, tg, Options{Conns: conns, Policy: Policy{Retries: 2, BaseDelay: time.Second, Jitter: noJitter}})
		<-done
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if string(got) != "0123456789" || out.Attempts != 2 || out.Verified != "size" {
			t.Errorf("server got %q in %d attempts (verified %q), want the file in 2 with APPE", got, out.Attempts, out.Verified)
		}
	})
}
