package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
)

// The rows of the matrix for upload mirrors, atomic uploads and kept
// times: small trees and files, so that the matrix stays fast.

// writeTree writes files under a new local folder, each with its own
// time, and returns the folder.
func writeTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	base := time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	})
	for i, rel := range names {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, files[rel], 0o644); err != nil {
			t.Fatal(err)
		}
		tm := base.Add(time.Duration(i)*time.Hour + 250*time.Millisecond)
		os.Chtimes(p, tm, tm)
	}
	return dir
}

// uploadLogLines returns the lines of a real server's logs that record an
// upload (the embedded server keeps none: nil).
func (s *server) uploadLogLines() []string {
	if s.logs == nil {
		return nil
	}
	kind, _ := endpoint(s.name)
	marker := map[string]string{
		string(realserver.Vsftpd):    " UPLOAD: ", // OK UPLOAD, FAIL UPLOAD
		string(realserver.Proftpd):   " _ i ",     // xferlog: binary, no action, incoming
		string(realserver.PureFTPd):  `"PUT `,
		string(realserver.Pyftpdlib): "] STOR ",
	}[kind]
	var out []string
	for _, l := range strings.Split(s.logs(), "\n") {
		if strings.Contains(l, marker) || kind == string(realserver.Pyftpdlib) && strings.Contains(l, "] APPE ") {
			out = append(out, l)
		}
	}
	return out
}

// checkUploadLog asserts that the server's log records uploads, and each
// to a temporary, never to a final name; it returns how many.
func (s *server) checkUploadLog(t *testing.T) int {
	t.Helper()
	if s.logs == nil {
		return 0
	}
	lines := s.uploadLogLines()
	if len(lines) == 0 {
		t.Errorf("the server's log records no upload:\n%s", s.logs())
	}
	for _, l := range lines {
		if !strings.Contains(l, resume.UploadPartSuffix) {
			t.Errorf("the server's log records an upload to a final name: %s", l)
		}
	}
	return len(lines)
}

// remoteTemps lists the upload temporaries left below top.
func remoteTemps(t *testing.T, cl *keepftp.Client, s *server, addr, top string) []string {
	t.Helper()
	var left []string
	var walk func(dir string)
	walk = func(dir string) {
		entries, err := cl.List(t.Context(), s.url(addr, dir))
		if err != nil {
			t.Errorf("list %s: %v", dir, err)
			return
		}
		for _, e := range entries {
			switch {
			case e.Type == keepftp.Dir:
				walk(path.Join(dir, e.Name))
			case resume.IsUploadPart(e.Name):
				left = append(left, path.Join(dir, e.Name))
			}
		}
	}
	walk(top)
	return left
}

// scMirrorUp: an upload mirror of a small tree (nested folders made with
// MKD) stopped part way (the context cancelled, as Ctrl-C does), then run
// again through data cuts: the rerun resumes the big file's temporary,
// every file's sha256 on the server is right, no temporary is left, the
// server's log shows uploads only to temporaries; a third run skips all.
func scMirrorUp(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	big := s.size(1536<<10, 768<<10)
	files := map[string][]byte{"big.bin": ftptest.RandomBytes(big), "a.txt": ftptest.RandomBytes(2000), "sub/b.bin": ftptest.RandomBytes(50000), "sub/deeper/c": ftptest.RandomBytes(10000)}
	dir := writeTree(t, files)
	top := path.Join(s.uploadDir, "mup")

	// 1. Stopped once the big file is 40% on the server.
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	stopAt := func(e keepftp.Event) {
		if e.Kind == keepftp.EventProgress && strings.HasSuffix(e.URL, "/big.bin") && e.Bytes > int64(big)*2/5 {
			stop()
		}
	}
	o := s.clientOpts()
	o.RateLimit, o.Parallel, o.NoProfile, o.ProgressEvery, o.Events = 2<<20, 2, true, time.Nanosecond, stopAt
	cl := keepftp.NewClient(o)
	_, err := cl.MirrorUp(ctx, dir, s.url(s.addr, top))
	cl.Close()
	if ctx.Err() == nil {
		t.Fatalf("the first run was not stopped: %v", err)
	}
	for rel, data := range files {
		if got, err := s.read(path.Join(top, rel)); err == nil && !bytes.Equal(got, data) {
			t.Fatalf("after the stop, %s stands under its name with %d of %d bytes", rel, len(got), len(data))
		}
	}

	// 2. The rerun, through data connections cut every 256 KiB.
	cuts := make([]int64, 24)
	for i := range cuts {
		cuts[i] = 256 << 10
	}
	p := s.path(t, testserver.MiddleboxOptions{DataCutAfter: cuts})
	var mu sync.Mutex
	var starts []int64
	var reasons []string
	seen := func(e keepftp.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == keepftp.EventStart && strings.HasSuffix(e.URL, "/big.bin") {
			starts = append(starts, e.Offset)
		}
	}
	// Paced, so that the cuts land while the data flows.
	o = p.clientOpts()
	o.RateLimit, o.Parallel, o.NoProfile, o.Events = 2<<20, 2, true, seen
	o.ProtocolLog = t.Logf
	o.Logf = t.Logf
	cl = keepftp.NewClient(o)
	defer cl.Close()
	results, err := cl.MirrorUp(t.Context(), dir, s.url(p.addr(), top))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.URL, r.Err)
		}
		if strings.HasSuffix(r.URL, "/big.bin") {
			reasons = append(reasons, r.Reason)
		}
	}
	for rel, data := range files {
		got, err := s.read(path.Join(top, rel))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		checkSHA(t, got, data)
	}
	mu.Lock()
	if len(starts) == 0 || starts[0] == 0 || !slices.Equal(reasons, []string{"partial to resume"}) {
		t.Errorf("the big file's rerun: planned for %q, attempts from %v; want its temporary resumed", reasons, starts)
	}
	attempts := len(starts)
	resumedAt := int64(0)
	if len(starts) > 0 {
		resumedAt = starts[0]
	}
	mu.Unlock()
	if left := remoteTemps(t, cl, s, p.addr(), top); len(left) > 0 {
		t.Errorf("temporaries left: %q", left)
	}
	s.checkUploadLog(t)

	// 3. Up to date: nothing is sent.
	var skips []string
	o3 := s.clientOpts()
	o3.NoProfile, o3.Parallel = true, 2
	cl3 := keepftp.NewClient(o3)
	defer cl3.Close()
	results, err = cl3.MirrorUp(t.Context(), dir, s.url(s.addr, top))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Skipped {
			t.Errorf("third run: %s not skipped (%s, %v)", r.URL, r.Reason, r.Err)
		}
		skips = append(skips, r.Reason)
	}
	slices.Sort(skips)
	skips = slices.Compact(skips)
	rule := "size+time"
	if len(skips) != 1 || skips[0] != "up to date: same size and time (to the second)" {
		rule = strings.Join(skips, "; ")
		t.Errorf("third run's rules: %q", skips)
	}
	if rule != "size+time" {
		return p.dataBytes(), rule
	}
	return p.dataBytes(), fmt.Sprintf("from %dK, %d tries", resumedAt>>10, attempts)
}

// scAtomicPut: a put that replaces an existing file, cut once: at every
// progress event and at the retry, a second client (jlaffaye/ftp, on its
// own connection) reads the final name and finds the old file whole, and
// the server's disk says the same. Then the new file stands, verified, no
// temporary is left, and the server's log shows the data went to the
// temporary only.
func scAtomicPut(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	remote := path.Join(s.uploadDir, "atomic.bin")
	old := ftptest.RandomBytes(64 << 10)
	if err := s.write(remote, old); err != nil {
		t.Fatal(err)
	}
	data := ftptest.RandomBytes(s.size(2<<20, 1<<20))
	src := filepath.Join(t.TempDir(), "atomic.bin")
	os.WriteFile(src, data, 0o644)
	reader := s.secondClient(t)
	var mu sync.Mutex
	var problems []string
	looks := 0
	look := func(when string) {
		mu.Lock()
		defer mu.Unlock()
		looks++
		r, err := reader.Retr(remote)
		if err != nil {
			problems = append(problems, when+": the old file is not there: "+err.Error())
			return
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, old) {
			problems = append(problems, fmt.Sprintf("%s: a reader got %d bytes, not the old file whole", when, len(got)))
		}
		if disk, _ := s.read(remote); !bytes.Equal(disk, old) {
			problems = append(problems, when+": the server's disk holds another file under the name")
		}
	}
	events := func(e keepftp.Event) {
		switch {
		case e.Kind == keepftp.EventRetry:
			look("at the retry")
		case e.Kind == keepftp.EventProgress && e.Bytes > 0 && e.Bytes < e.Size:
			look("during the upload")
		}
	}
	p := s.path(t, testserver.MiddleboxOptions{DataCutAfter: []int64{int64(len(data)) / 3}})
	o := p.clientOpts()
	o.RateLimit, o.NoProfile, o.ProgressEvery, o.Events = 4<<20, true, 50*time.Millisecond, events
	cl := keepftp.NewClient(o)
	defer cl.Close()
	out, err := cl.Put(t.Context(), src, s.url(p.addr(), remote))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.read(remote)
	if err != nil {
		t.Fatal(err)
	}
	checkSHA(t, got, data)
	mu.Lock()
	if looks < 2 || len(problems) > 0 {
		t.Errorf("%d looks from a second connection: %q", looks, problems)
	}
	n := looks
	mu.Unlock()
	if left := remoteTemps(t, cl, s, p.addr(), s.uploadDir); len(left) > 0 {
		t.Errorf("temporaries left: %q", left)
	}
	s.checkUploadLog(t)
	return p.dataBytes(), fmt.Sprintf("%d looks, %d tries", n, out.Attempts)
}

// secondClient logs in with jlaffaye/ftp, an independent client: plain,
// explicit or implicit TLS (resuming the control connection's TLS session
// on data connections, as vsftpd and proftpd require).
func (s *server) secondClient(t *testing.T) *ftp.ServerConn {
	t.Helper()
	opts := []ftp.DialOption{ftp.DialWithTimeout(5 * time.Second)}
	if s.tls != realserver.NoTLS {
		cfg := &tls.Config{RootCAs: s.pki.Roots, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(4), MaxVersion: tls.VersionTLS12}
		if s.tls == realserver.ImplicitTLS {
			opts = append(opts, ftp.DialWithTLS(cfg))
		} else {
			opts = append(opts, ftp.DialWithExplicitTLS(cfg))
		}
	}
	c, err := ftp.Dial(s.addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Quit() })
	user, pw := s.user, s.pw
	if user == "" {
		user, pw = realserver.AnonymousUser, realserver.AnonymousPassword
	}
	if err := c.Login(user, pw); err != nil {
		t.Fatal(err)
	}
	return c
}

// wantTimeWays are the ways each server takes a file's time, as
// shared/server-notes.md records them (docs/servers.md).
var wantTimeWays = map[string][]string{
	string(realserver.Vsftpd):    {control.SetTimeMDTM},
	string(realserver.Proftpd):   {control.SetTimeMFMT},
	string(realserver.PureFTPd):  {control.SetTimeMFMT, control.SetTimeSiteUtime},
	string(realserver.Pyftpdlib): {control.SetTimeMFMT},
	embedded:                     {control.SetTimeMFMT},
}

// scSetTime: each way of setting a time, tried on the server and read
// back; then a put, whose time is set the first way that works and read
// back. The cell shows the way the put used, and the others that work.
func scSetTime(t *testing.T, name string) (int64, string) {
	s := startServer(t, name, false, 0)
	probe := path.Join(s.uploadDir, "probe.bin")
	s.write(probe, []byte("probe"))
	c, err := control.Dial(t.Context(), s.addr, s.controlConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	var works []string
	for _, how := range control.SetTimeMethods {
		got, setErr, err := c.SetModTime(t.Context(), how, probe, want)
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		if setErr == nil && got.Equal(want) {
			works = append(works, how)
		}
		s.write(probe, []byte("probe")) // its own time again
	}
	kind, _ := endpoint(name)
	if !slices.Equal(works, wantTimeWays[kind]) {
		t.Errorf("the server took %q; server-notes say %q", works, wantTimeWays[kind])
	}
	src := filepath.Join(t.TempDir(), "timed.bin")
	os.WriteFile(src, ftptest.RandomBytes(1000), 0o644)
	os.Chtimes(src, want, want)
	remote := path.Join(s.uploadDir, "timed.bin")
	o := s.clientOpts()
	o.NoProfile = true
	cl := keepftp.NewClient(o)
	defer cl.Close()
	out, err := cl.Put(t.Context(), src, s.url(s.addr, remote))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stat(t.Context(), remote)
	if err != nil || st.ModTimeErr != nil || !st.ModTime.Equal(want) {
		t.Errorf("after the put, MDTM says %v (%v, %v), want %v", st.ModTime, st.ModTimeErr, err, want)
	}
	if len(works) == 0 {
		if out.TimeSet != "" {
			t.Errorf("the put says its time was set by %q", out.TimeSet)
		}
		return 0, "none"
	}
	if out.TimeSet != works[0] {
		t.Errorf("the put set its time by %q, want %q", out.TimeSet, works[0])
	}
	note := out.TimeSet
	if len(works) > 1 {
		note += "; also " + strings.Join(works[1:], ", ")
	}
	return 0, note
}
