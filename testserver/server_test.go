package testserver

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/spf13/afero"
)

// TestJlaffayeClientListAndRetrieve is the acceptance test: an independent
// FTP client logs in, lists (MLSD and LIST), retrieves and stores files,
// against both an in-memory and an on-disk filesystem.
func TestJlaffayeClientListAndRetrieve(t *testing.T) {
	t.Parallel()
	content := randomBytes(300 * 1024)
	for _, tc := range []struct {
		name string
		root bool
	}{{"memfs", false}, {"rootdir", true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Users: map[string]string{"alice": "secret"}}
			if tc.root {
				opts.Root = t.TempDir()
			}
			s := startServer(t, opts)
			mustWrite(t, s, "/dir/big.bin", content)
			mustWrite(t, s, "/dir/small.txt", []byte("hello\n"))

			for _, mlsd := range []bool{true, false} {
				c, err := ftp.Dial(s.Addr(), ftp.DialWithTimeout(5*time.Second), ftp.DialWithDisabledMLSD(!mlsd))
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Login("alice", "wrong"); err == nil {
					t.Fatal("login with a wrong password succeeded")
				}
				c.Quit()
				c, err = ftp.Dial(s.Addr(), ftp.DialWithTimeout(5*time.Second), ftp.DialWithDisabledMLSD(!mlsd))
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Login("alice", "secret"); err != nil {
					t.Fatal(err)
				}
				entries, err := c.List("/dir")
				if err != nil {
					t.Fatalf("List (mlsd=%v): %v", mlsd, err)
				}
				var names []string
				sizes := map[string]uint64{}
				for _, e := range entries {
					names = append(names, e.Name)
					sizes[e.Name] = e.Size
				}
				sort.Strings(names)
				if len(names) != 2 || names[0] != "big.bin" || names[1] != "small.txt" {
					t.Fatalf("List (mlsd=%v) = %v", mlsd, names)
				}
				if sizes["big.bin"] != uint64(len(content)) {
					t.Fatalf("size of big.bin = %d", sizes["big.bin"])
				}

				r, err := c.Retr("/dir/big.bin")
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Close(); err != nil {
					t.Fatalf("Retr close (final reply): %v", err)
				}
				if !bytes.Equal(got, content) {
					t.Fatalf("retrieved %d bytes, differ from the %d stored", len(got), len(content))
				}

				up := randomBytes(100*1024 + 3)
				if err := c.Stor("/dir/up.bin", bytes.NewReader(up)); err != nil {
					t.Fatal(err)
				}
				stored, err := afero.ReadFile(s.Fs(), "/dir/up.bin")
				if err != nil || !bytes.Equal(stored, up) {
					t.Fatalf("stored file: %d bytes, err %v", len(stored), err)
				}
				if tc.root {
					onDisk, err := os.ReadFile(filepath.Join(opts.Root, "dir", "up.bin"))
					if err != nil || !bytes.Equal(onDisk, up) {
						t.Fatalf("file on disk: %d bytes, err %v", len(onDisk), err)
					}
				}
				if err := c.Delete("/dir/up.bin"); err != nil {
					t.Fatal(err)
				}
				if err := c.Quit(); err != nil {
					t.Fatal(err)
				}
			}
			st := s.Stats()
			if st.Downloads != 2 || st.Uploads != 2 {
				t.Fatalf("Downloads=%d Uploads=%d, want 2 and 2", st.Downloads, st.Uploads)
			}
			if st.BytesSent != 2*int64(len(content)) {
				t.Fatalf("BytesSent = %d, want %d", st.BytesSent, 2*len(content))
			}
			if st.BytesReceived != 2*(100*1024+3) {
				t.Fatalf("BytesReceived = %d", st.BytesReceived)
			}
		})
	}
}

func TestAnonymousLogin(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})
	c := dialRaw(t, s.Addr())
	c.cmd(331, "USER bob")
	c.cmd(530, "PASS x")
	c = dialRaw(t, s.Addr())
	c.cmd(331, "USER ftp")
	c.cmd(230, "PASS whatever")
}

func TestStatsConnections(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})
	var conns []net.Conn
	for range 3 {
		c := dialRaw(t, s.Addr()) // the 220 banner means ftpserverlib counted it
		conns = append(conns, c.conn)
	}
	st := s.Stats()
	if st.Connections != 3 || st.ActiveConns != 3 || st.MaxActiveConns != 3 {
		t.Fatalf("stats with 3 open: %+v", st)
	}
	for _, c := range conns {
		c.Close()
	}
	st, err := s.WaitStats(ctxTimeout(t, 3*time.Second), func(st Stats) bool { return st.ActiveConns == 0 })
	if err != nil {
		t.Fatalf("ActiveConns did not drop to 0: %+v", st)
	}
	c := dialRaw(t, s.Addr())
	c.login()
	c.cmd(200, "NOOP")
	st = s.Stats()
	if st.Connections != 4 || st.ActiveConns != 1 || st.MaxActiveConns != 3 || st.Noops != 1 {
		t.Fatalf("stats after a 4th connection: %+v", st)
	}
}

func TestCloseDropsClients(t *testing.T) {
	t.Parallel()
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, s.Addr())
	c.login()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := c.readTimeout(3 * time.Second); err == nil {
		t.Fatal("control connection still answers after Close")
	}
}
