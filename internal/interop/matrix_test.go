package interop

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
)

// scenario runs against one server and returns the data bytes that
// crossed the network (counted at the middlebox or the client) and a note.
type scenario struct {
	name string
	run  func(t *testing.T, name string) (bytes int64, note string)
}

var scenarios = []scenario{
	{"login", scLogin},
	{"list", scList},
	{"get", scGet},
	{"put", scPut},
	{"get (active: EPRT/PORT)", scActiveGet},
	{"put (active: EPRT/PORT)", scActivePut},
	{"get (active, IPv6: EPRT)", scActiveIPv6Get},
	{"put into new dirs (MKD)", scPutMkdir},
	{"resume get (3 cuts)", scResumeGet},
	{"resume put (3 cuts)", scResumePut},
	{"NOOP through NAT (idle 1.5s)", scNoopNAT},
	{"lost final reply", scLostFinal},
	{"421 between transfers", scIdle421},
	{"IPv6 (::1, EPSV)", scIPv6},
	{"filtered mirror, moves (DELE)", scMoveFilter},
	{"get via SOCKS5 (dante)", scViaSOCKS5},
	{"get via CONNECT (tinyproxy)", scViaCONNECT},
	{"mirror upload", scMirrorUp},
	{"mirror --delete", scMirrorDelete},
	{"mirror --dry-run", scMirrorDryRun},
	{"atomic put (no partial under final name)", scAtomicPut},
	{"set time", scSetTime},
}

// skipWhy holds, by test name, why a cell was skipped: the table says it.
var skipWhy sync.Map

// skipCell skips a scenario and records the reason for its cell.
func skipCell(t *testing.T, why string) {
	t.Helper()
	skipWhy.Store(t.Name(), why)
	t.Skip(why)
}

// results collects the table printed at the end.
var results = struct {
	sync.Mutex
	m map[string]map[string]string
}{m: map[string]map[string]string{}}

func record(sc, srv, cell string) {
	results.Lock()
	defer results.Unlock()
	if results.m[sc] == nil {
		results.m[sc] = map[string]string{}
	}
	results.m[sc][srv] = cell
}

// TestMatrix is the scenario matrix: scenarios x servers. Every cell
// checks sha256 where data moves and counts the bytes. Each cell starts a
// server of its own, so all cells run at once (up to -parallel): most of
// their time is spent waiting, on rates, idle timers and timeouts.
func TestMatrix(t *testing.T) {
	t.Cleanup(func() { printTable(t) })
	for _, name := range append(slices.Clone(serverNames), tlsNames...) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					cell := "FAIL"
					defer func() {
						if t.Skipped() {
							cell = "skip"
							if why, ok := skipWhy.Load(t.Name()); ok {
								cell += " (" + why.(string) + ")"
							}
						}
						record(sc.name, name, cell)
					}()
					n, note := sc.run(t, name)
					if !t.Failed() {
						cell = "ok"
						if n > 0 {
							cell += fmt.Sprintf(" %.1fM", float64(n)/(1<<20))
						}
						if note != "" {
							cell += " (" + note + ")"
						}
					}
				})
			}
		})
	}
}

func printTable(t *testing.T) {
	results.Lock()
	defer results.Unlock()
	var b strings.Builder
	// Two blocks: plain FTP, then FTPS (the same scenarios on the real
	// servers requiring TLS on control and data connections).
	for _, cols := range [][]string{serverNames, tlsNames} {
		fmt.Fprintf(&b, "\n%-42s", "scenario")
		for _, s := range cols {
			fmt.Fprintf(&b, " | %-22s", s)
		}
		b.WriteString("\n")
		for _, sc := range scenarios {
			fmt.Fprintf(&b, "%-42s", sc.name)
			for _, s := range cols {
				cell := results.m[sc.name][s]
				if cell == "" {
					cell = "-"
				}
				fmt.Fprintf(&b, " | %-22s", cell)
			}
			b.WriteString("\n")
		}
	}
	t.Log(b.String())
	// go test shows a passing test's log only with -v: CI asks for the
	// table in a file and prints it.
	if name := os.Getenv("KEEPFTP_MATRIX_TABLE"); name != "" {
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func randCut(lo, hi int64) int64 {
	n, _ := rand.Int(rand.Reader, big.NewInt(hi-lo))
	return lo + n.Int64()
}

func target(t *testing.T, raw string) resume.Target {
	t.Helper()
	tg, err := resume.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

var quickRetries = keepftp.RetryPolicy{Retries: 5, MaxAttempts: 30, BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond}

func opts() resume.Options {
	q := quickRetries
	return resume.Options{Timeout: 5 * time.Second, Noops: &noop.Registry{},
		Policy: resume.Policy{Retries: q.Retries, MaxAttempts: q.MaxAttempts, BaseDelay: q.BaseDelay, MaxDelay: q.MaxDelay}}
}

func checkSHA(t *testing.T, got, want []byte) {
	t.Helper()
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("sha256 differs: %d bytes, want %d", len(got), len(want))
	}
}

func readLocal(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func scLogin(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	tg := target(t, s.url(s.addr, "/"))
	c, err := control.Dial(t.Context(), tg.Addr, s.controlConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit(t.Context())
	if _, err := c.Pwd(t.Context()); err != nil {
		t.Fatal(err)
	}
	return 0, ""
}

func scList(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	dir := path.Join(s.uploadDir, "listing")
	files := map[string]int{"a.txt": 10, "b c.bin": 2000, "sub/d.txt": 5}
	for f, n := range files {
		if err := s.write(path.Join(dir, f), ftptest.RandomBytes(n)); err != nil {
			t.Fatal(err)
		}
	}
	p := s.path(t, testserver.MiddleboxOptions{})
	cl := keepftp.NewClient(p.clientOpts())
	defer cl.Close()
	entries, err := cl.List(t.Context(), s.url(p.addr(), dir))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	how := "LIST"
	for _, e := range entries {
		got[e.Name] = fmt.Sprintf("%v %d", e.Type, e.Size)
		if e.Facts != nil {
			how = "MLSD"
		}
	}
	want := map[string]string{"a.txt": "file 10", "b c.bin": "file 2000", "sub": "dir"}
	for n, w := range want {
		if g := got[n]; !strings.HasPrefix(g, w) {
			t.Errorf("%s: %q, want %q (all: %v)", n, g, w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	return p.dataBytes(), how
}

func scGet(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	data := ftptest.RandomBytes(s.size(4<<20, 2<<20))
	s.write("/get.bin", data)
	p := s.path(t, testserver.MiddleboxOptions{})
	dst := filepath.Join(t.TempDir(), "get.bin")
	out, err := resume.Get(t.Context(), target(t, s.url(p.addr(), "/get.bin")), dst, p.opts())
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, readLocal(t, dst), data)
	p.checkOnce(t, len(data))
	return p.dataBytes(), out.Verified
}

func scPut(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	data := ftptest.RandomBytes(s.size(4<<20, 2<<20))
	src := filepath.Join(t.TempDir(), "put.bin")
	os.WriteFile(src, data, 0o644)
	p := s.path(t, testserver.MiddleboxOptions{})
	remote := path.Join(s.uploadDir, "put.bin")
	out, err := resume.Put(t.Context(), src, target(t, s.url(p.addr(), remote)), p.opts())
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.read(remote)
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, got, data)
	return p.dataBytes(), out.Verified
}

func scPutMkdir(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	data := ftptest.RandomBytes(1 << 20)
	src := filepath.Join(t.TempDir(), "x.bin")
	os.WriteFile(src, data, 0o644)
	cl := keepftp.NewClient(s.clientOpts())
	defer cl.Close()
	dir := path.Join(s.uploadDir, "new", "sub")
	if err := cl.MkdirAll(t.Context(), s.url(s.addr, dir)); err != nil {
		t.Fatal(err)
	}
	if err := cl.MkdirAll(t.Context(), s.url(s.addr, dir)); err != nil {
		t.Fatalf("again, with the directories there: %v", err)
	}
	if _, err := cl.Put(t.Context(), src, s.url(s.addr, path.Join(dir, "x.bin"))); err != nil {
		t.Fatal(err)
	}
	got, err := s.read(path.Join(dir, "x.bin"))
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, got, data)
	return int64(len(got)), ""
}

func scResumeGet(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	size := s.size(12<<20, 8<<20)
	data := ftptest.RandomBytes(size)
	s.write("/cut.bin", data)
	cuts := []int64{s.randCut(), s.randCut(), s.randCut()}
	p := s.path(t, testserver.MiddleboxOptions{DataCutAfter: cuts})
	dst := filepath.Join(t.TempDir(), "cut.bin")
	out, err := resume.Get(t.Context(), target(t, s.url(p.addr(), "/cut.bin")), dst, p.opts())
	if err != nil {
		t.Fatalf("%v (%+v)", err, out)
	}
	checkSHA(t, readLocal(t, dst), data)
	if out.Attempts != 4 {
		t.Errorf("%d attempts, want 4 (3 cuts)", out.Attempts)
	}
	if out.Received > int64(size)+3*256<<10 {
		t.Errorf("received %d bytes for %d", out.Received, size)
	}
	return out.Received, fmt.Sprintf("%d tries", out.Attempts)
}

func scResumePut(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	data := ftptest.RandomBytes(s.size(12<<20, 8<<20))
	src := filepath.Join(t.TempDir(), "cut.bin")
	os.WriteFile(src, data, 0o644)
	cuts := []int64{s.randCut(), s.randCut(), s.randCut()}
	p := s.path(t, testserver.MiddleboxOptions{DataCutAfter: cuts})
	remote := path.Join(s.uploadDir, "cut.bin")
	out, err := resume.Put(t.Context(), src, target(t, s.url(p.addr(), remote)), p.opts())
	if err != nil {
		t.Fatalf("%v (%+v)", err, out)
	}
	got, err := s.read(remote)
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, got, data)
	return p.dataBytes(), fmt.Sprintf("%d tries", out.Attempts)
}

func scNoopNAT(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	data := ftptest.RandomBytes(9 << 19)
	s.write("/nat.bin", data)
	p := s.path(t, testserver.MiddleboxOptions{IdleTimeout: 1500 * time.Millisecond, Mode: testserver.ExpireBlackhole})
	o := p.opts()
	// A NOOP every 250 ms: well inside the 1.5 s idle limit even late on a
	// loaded machine (at 500 ms within 1 s, pyftpdlib's row lost its
	// control flow once in a run of five).
	o.Timeout, o.Keepalive = 4*time.Second, 250*time.Millisecond
	o.RateLimit = 3 << 19 // 1.5 MiB/s: a 3 s transfer
	o.Policy = resume.Policy{Retries: 0, MaxAttempts: 1}
	dst := filepath.Join(t.TempDir(), "nat.bin")
	start := time.Now()
	_, err := resume.Get(t.Context(), target(t, s.url(p.addr(), "/nat.bin")), dst, o)
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, readLocal(t, dst), data)
	if p.mb.Stats().Expired != 0 {
		t.Errorf("the middlebox expired %d control flows", p.mb.Stats().Expired)
	}
	return p.dataBytes(), fmt.Sprintf("%.0fs", time.Since(start).Seconds())
}

func scLostFinal(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	// Under TLS 16 MiB: more than loopback's socket buffers hold, so the
	// server is still sending, its final reply not yet written, when the
	// control flow goes dark (with 4 MiB, on a loaded run the server had
	// put it all in the buffers and its 226 had passed).
	data := ftptest.RandomBytes(s.size(4<<20, 16<<20))
	s.write("/lost.bin", data)
	p := s.path(t, testserver.MiddleboxOptions{})
	p.loseFinalReply()
	o := p.opts()
	o.Timeout = 2 * time.Second
	dst := filepath.Join(t.TempDir(), "lost.bin")
	out, err := resume.Get(t.Context(), target(t, s.url(p.addr(), "/lost.bin")), dst, o)
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, readLocal(t, dst), data)
	if out.Status != "complete (verified)" {
		t.Errorf("status %q, want complete (verified)", out.Status)
	}
	p.checkOnce(t, len(data))
	return p.dataBytes(), out.Verified
}

func scIdle421(t *testing.T, name string) (int64, string) {
	kind, _ := endpoint(name)
	if kind == "pure-ftpd" {
		skipCell(t, "idle timeout in whole minutes")
	}
	const idle = 2 * time.Second
	s := startServer(t, name, false, idle)
	a, b := ftptest.RandomBytes(1<<20), ftptest.RandomBytes(1<<20)
	s.write("/a.bin", a)
	s.write("/b.bin", b)
	p := s.path(t, testserver.MiddleboxOptions{})
	o := p.clientOpts()
	o.NoKeepalive = true // let the server's idle timer fire between the files
	o.Parallel = 1
	cl := keepftp.NewClient(o)
	defer cl.Close()
	dir := t.TempDir()
	if _, err := cl.Get(t.Context(), s.url(p.addr(), "/a.bin"), filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	// Wait, in real time (the server's own clock is what is tested), for
	// the server to end the idle pooled connection. pyftpdlib's idle timer
	// does not fire after the first command (docs/servers.md): there the
	// wait runs out and the connection must still be there.
	timerFires := kind != "pyftpdlib"
	wait := idle + 5*time.Second
	if !timerFires {
		wait = 2 * idle
	}
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	// Under TLS the session's end may be an alert from the server that the
	// client answers by closing (vsftpd): the flow's end is what counts.
	ended := func(st testserver.MiddleboxStats) bool { return st.ServerClosed > 0 }
	if s.tls != realserver.NoTLS {
		ended = func(st testserver.MiddleboxStats) bool { return st.Closed > 0 }
	}
	_, werr := p.mb.WaitStats(ctx, ended)
	if timerFires && werr != nil {
		t.Fatalf("the server did not close the idle connection within %v", wait)
	}
	if _, err := cl.Get(t.Context(), s.url(p.addr(), "/b.bin"), filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	checkSHA(t, readLocal(t, filepath.Join(dir, "a")), a)
	checkSHA(t, readLocal(t, filepath.Join(dir, "b")), b)
	st := p.mb.Stats()
	switch {
	case timerFires && st.Sessions != 2:
		t.Errorf("%d sessions after the server closed the first: want a reconnect", st.Sessions)
	case !timerFires && (st.Sessions != 1 || st.ServerClosed != 0):
		t.Errorf("pyftpdlib: %d sessions, %d closed by the server; its idle timer was seen not to fire after the first command", st.Sessions, st.ServerClosed)
	}
	note := "reconnected"
	switch {
	case !timerFires:
		note = "no idle timer, as seen before"
	case st.ServerClosed == 0:
		note = "reconnected; TLS: the client closed first"
	}
	return p.dataBytes(), note
}

func scIPv6(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, true, 0)
	data := ftptest.RandomBytes(4 << 20)
	s.write("/v6.bin", data)
	dst := filepath.Join(t.TempDir(), "v6.bin")
	out, err := resume.Get(t.Context(), target(t, s.url(s.addr, "/v6.bin")), dst, s.opts())
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, readLocal(t, dst), data)
	return out.Received, ""
}
