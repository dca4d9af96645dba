package transfer

import (
	"github.com/keepftp/keepftp/internal/ftptest"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

const benchSize = 64 << 20

func benchFile(b *testing.B) (dir, name string) {
	dir = b.TempDir()
	name = filepath.Join(dir, "big")
	if err := os.WriteFile(name, ftptest.RandomBytes(benchSize), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir, name
}

// BenchmarkDownloadToFile: one RETR from the embedded server into a file,
// keepalive on (a NOOP every 250 ms), on the zero-copy path.
func BenchmarkDownloadToFile(b *testing.B) {
	dir, _ := benchFile(b)
	srv, err := testserver.Start(testserver.Options{Root: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c, err := control.Dial(b.Context(), srv.Addr(), control.Config{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	out := filepath.Join(b.TempDir(), "out")
	opts := Options{Keepalive: 250 * time.Millisecond, Noops: &noop.Registry{}}
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		f, _ := os.Create(out)
		if _, err := Download(b.Context(), c, "/big", 0, benchSize, f, opts); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkRawTCPToFile is the floor: the same bytes over one loopback TCP
// connection, sendfile on one side and splice on the other.
func BenchmarkRawTCPToFile(b *testing.B) {
	_, name := benchFile(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f, _ := os.Open(name)
			io.Copy(c, f)
			f.Close()
			c.Close()
		}
	}()
	out := filepath.Join(b.TempDir(), "out")
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		f, _ := os.Create(out)
		io.Copy(f, c)
		f.Close()
		c.Close()
	}
}
