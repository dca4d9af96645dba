package interop

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
)

// A mirror on every real server: a tree whose files are named like
// keepftp's own partial and state files is copied whole, at -P 1 and -P 4,
// with the listing's facts and the pipelined checks (SIZE and MDTM written
// together on servers without MLST).
func TestMirrorOnRealServers(t *testing.T) {
	for _, name := range serverNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			top := path.Join(s.uploadDir, "tree")
			files := map[string][]byte{}
			for i, rel := range []string{"data", "data.part", "data.part.keepftp", "a/data", "a/data.part", "a/b/c.bin", "big"} {
				n := 3000 + i*1000
				if rel == "big" {
					n = 3 << 20
				}
				files[rel] = ftptest.RandomBytes(n)
				if err := s.write(path.Join(top, rel), files[rel]); err != nil {
					t.Fatal(err)
				}
			}
			for _, par := range []int{1, 4} {
				o := s.clientOpts()
				o.Parallel = par
				cl := keepftp.NewClient(o)
				dir := t.TempDir()
				results, err := cl.Mirror(t.Context(), s.url(s.addr, top), dir)
				cl.Close()
				if err != nil {
					t.Fatalf("-P %d: %v", par, err)
				}
				for _, r := range results {
					if r.Err != nil {
						t.Errorf("-P %d: %s: %v", par, r.URL, r.Err)
					}
				}
				for rel, data := range files {
					got, err := os.ReadFile(filepath.Join(dir, rel))
					if err != nil || !bytes.Equal(got, data) {
						t.Errorf("-P %d: %s: %v, %d bytes, want %d", par, rel, err, len(got), len(data))
					}
				}
				if _, err := os.Stat(filepath.Join(dir, keepftp.StagingDir)); !os.IsNotExist(err) {
					t.Errorf("-P %d: the staging directory is left behind", par)
				}
			}
		})
	}
}

// SIZE and MDTM written together, many times in a row, are each answered,
// in order, by every real server.
func TestPipelinedStatOnRealServers(t *testing.T) {
	for _, name := range serverNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			p := path.Join(s.uploadDir, "stat.bin")
			if err := s.write(p, ftptest.RandomBytes(12345)); err != nil {
				t.Fatal(err)
			}
			c, err := control.Dial(t.Context(), s.addr, s.controlConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := range 50 {
				st, err := c.Stat(t.Context(), p)
				if err != nil || st.SizeErr != nil || st.Size != 12345 || st.ModTimeErr != nil || st.ModTime.IsZero() {
					t.Fatalf("Stat %d: %+v, %v", i, st, err)
				}
				missing, err := c.Stat(t.Context(), p+".missing")
				if err != nil || !control.IsPermanent(missing.SizeErr) || !control.IsPermanent(missing.ModTimeErr) {
					t.Fatalf("Stat %d of a missing file: %+v, %v", i, missing, err)
				}
			}
			if _, err := c.Pwd(t.Context()); err != nil {
				t.Errorf("PWD after the pipelined commands: %v", err)
			}
			t.Logf("%s: 100 pipelined SIZE+MDTM pairs answered in order", name)
		})
	}
}

// SIZE, MDTM and EPSV written together, and the RETR that follows on the
// port that EPSV opened, on every real server, over IPv4 and IPv6: the
// data is the file's. A StatPassive whose file is missing leaves its port
// unused, and the next one replaces it.
func TestStatPassiveOnRealServers(t *testing.T) {
	for _, name := range serverNames {
		for _, ipv6 := range []bool{false, true} {
			if ipv6 && name == embedded {
				continue // it listens on 127.0.0.1 only
			}
			t.Run(fmt.Sprintf("%s/ipv6=%v", name, ipv6), func(t *testing.T) {
				t.Parallel()
				s := startServer(t, name, ipv6, 0)
				p := path.Join(s.uploadDir, "statpasv.bin")
				body := ftptest.RandomBytes(12345)
				if err := s.write(p, body); err != nil {
					t.Fatal(err)
				}
				cfg := s.controlConfig()
				var passives atomic.Int32 // EPSV and PASV written
				cfg.Logf = func(f string, a ...any) {
					if l := fmt.Sprintf(f, a...); l == "> EPSV" || l == "> PASV" {
						passives.Add(1)
					}
				}
				c, err := control.Dial(t.Context(), s.addr, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				for i := range 10 {
					if i%3 == 2 {
						missing, err := c.StatPassive(t.Context(), p+".missing")
						if err != nil || !control.IsPermanent(missing[0].SizeErr) {
							t.Fatalf("StatPassive %d of a missing file: %+v, %v", i, missing, err)
						}
					}
					sts, err := c.StatPassive(t.Context(), p)
					if err != nil || sts[0].SizeErr != nil || sts[0].Size != 12345 || sts[0].ModTimeErr != nil {
						t.Fatalf("StatPassive %d: %+v, %v", i, sts, err)
					}
					tr, err := c.StartTransfer(t.Context(), "RETR", p, 0)
					if err != nil {
						t.Fatalf("RETR %d: %v", i, err)
					}
					got, rerr := io.ReadAll(tr.Data)
					tr.Data.Close() // proftpd sends its 226 once the client closed
					rep := <-tr.Final()
					if _, err := tr.End(t.Context(), true); err != nil {
						t.Fatal(err)
					}
					if rerr != nil || !rep.OK() || !bytes.Equal(got, body) {
						t.Fatalf("RETR %d: %d bytes, %v, final %d %s", i, len(got), rerr, rep.Code, rep.Msg)
					}
				}
				if _, err := c.Pwd(t.Context()); err != nil {
					t.Errorf("PWD after the transfers: %v", err)
				}
				if n := passives.Load(); n != 13 {
					t.Errorf("%d EPSV or PASV written, want 13 (one per StatPassive): each RETR takes the port opened ahead", n)
				}
			})
		}
	}
}

// Files on the server's disk whose names hold CR or LF (a hostile upload,
// say) are listed raw by some servers. A mirror never sends such a name
// back (it would end the command line early: "x\r\nDELE victim"), copies
// the rest, and the victim survives. A LF splits the listing line: the
// part after it is reported as a bad line, the part before it is a name
// the server does not have (550, reported).
func TestMirrorHostileNamesOnRealServers(t *testing.T) {
	for _, name := range serverNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			top := path.Join(s.uploadDir, "hostile")
			victim := path.Join(s.uploadDir, "victim")
			if err := s.write(victim, []byte("must survive")); err != nil {
				t.Fatal(err)
			}
			good := ftptest.RandomBytes(4000)
			if err := s.write(path.Join(top, "good"), good); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"x\r\nDELE victim", "y\rDELE victim", "z\nDELE victim"} {
				if err := s.write(path.Join(top, bad), []byte("bad")); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.write(path.Join(top, "victim"), []byte("must survive too")); err != nil {
				t.Fatal(err)
			}
			o := s.clientOpts()
			o.Parallel = 2
			cl := keepftp.NewClient(o)
			defer cl.Close()
			dir := t.TempDir()
			results, err := cl.Mirror(t.Context(), s.url(s.addr, top), dir)
			if err != nil {
				t.Fatalf("Mirror: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "good"))
			if err != nil || !bytes.Equal(got, good) {
				t.Errorf("good: %v, %d bytes", err, len(got))
			}
			for _, v := range []string{victim, path.Join(top, "victim")} {
				if data, err := s.read(v); err != nil || len(data) == 0 {
					t.Errorf("%q was deleted: %v", v, err)
				}
			}
			left := 0
			for _, r := range results {
				if r.Err != nil {
					left++
					t.Logf("%s: %v", r.URL, r.Err)
				}
			}
			if left == 0 {
				// pure-ftpd does not list names with control characters.
				entries, _ := os.ReadDir(dir)
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				if len(names) != 2 {
					t.Errorf("nothing reported about the names with CR or LF, and the copy holds %q", names)
				}
				t.Logf("the server did not list the names with CR or LF; copied %q", names)
			}
		})
	}
}
