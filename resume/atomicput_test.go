package resume

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
	"github.com/spf13/afero"
)

var localTime = time.Date(2022, 7, 8, 9, 10, 11, 0, time.UTC)

// writeLocal writes a local file with localTime.
func writeLocal(t *testing.T, data []byte) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "up")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(src, localTime, localTime); err != nil {
		t.Fatal(err)
	}
	return src
}

func putOpts(ev *eventLog) Options {
	return Options{Timeout: 5 * time.Second, Policy: fastRetries, Events: ev.add, Noops: &noop.Registry{}}
}

// An upload cut twice is written to its temporary, never to the final
// name: at each retry the final name does not exist, the temporary holds
// what arrived, and the retry continues it (the server receives the file
// once). The verified temporary is renamed; nothing else is left.
func TestPutWritesTemporaryThenRenames(t *testing.T) {
	payload := ftptest.RandomBytes(4 << 20)
	srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true, Faults: testserver.Faults{UploadCutAfter: []int64{1 << 20, 2 << 20}}})
	src := writeLocal(t, payload)
	part := UploadPartName("/d/up", int64(len(payload)), localTime)
	if err := srv.Fs().MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	ev := &eventLog{}
	o := putOpts(ev)
	o.Events = func(e Event) {
		ev.add(e)
		if e.Kind != EventRetry {
			return
		}
		_, finalErr := srv.Fs().Stat("/d/up")
		st, partErr := srv.Fs().Stat(part)
		mu.Lock()
		defer mu.Unlock()
		if finalErr == nil || partErr != nil {
			seen = append(seen, "at a retry the final name exists or the temporary does not")
			return
		}
		seen = append(seen, "part "+byteCount(st.Size()))
	}
	out, err := Put(t.Context(), src, target(t, srv.Addr(), "/d/up"), o)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, _ := afero.ReadFile(srv.Fs(), "/d/up")
	if !bytes.Equal(got, payload) {
		t.Fatalf("the uploaded file differs (%d bytes)", len(got))
	}
	mu.Lock()
	if strings.Join(seen, ", ") != "part 1048576, part 3145728" {
		t.Errorf("at the retries: %q; want the temporary at each cut and no final file", seen)
	}
	mu.Unlock()
	if n := srv.Stats().BytesReceived; n != int64(len(payload)) {
		t.Errorf("the server received %d bytes, want the file once (%d)", n, len(payload))
	}
	names, _ := afero.ReadDir(srv.Fs(), "/d")
	if len(names) != 1 {
		t.Errorf("%d names in the folder, want the file alone", len(names))
	}
	if out.Verified != "SHA-256" || out.TimeSet != control.SetTimeMFMT {
		t.Errorf("%+v: want verified by SHA-256 and the time set by MFMT", out)
	}
	if st, _ := srv.Fs().Stat("/d/up"); !st.ModTime().Equal(localTime) {
		t.Errorf("the server's time is %v, want the local file's %v", st.ModTime(), localTime)
	}
}

func byteCount(n int64) string { return strconv.FormatInt(n, 10) }

// A run that stopped part way leaves the temporary; the next run (another
// Put of the same unchanged file) finds it by name and sends only the
// rest. A local file that changed meanwhile gets a temporary of its own:
// the old bytes are never continued.
func TestPutRerunResumesTheTemporary(t *testing.T) {
	payload := ftptest.RandomBytes(2 << 20)
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{UploadCutAfter: []int64{700 << 10}}})
	src := writeLocal(t, payload)
	tg := target(t, srv.Addr(), "/up")
	ev := &eventLog{}
	o := putOpts(ev)
	o.Policy = Policy{Retries: 0, MaxAttempts: 1}
	if _, err := Put(t.Context(), src, tg, o); err == nil {
		t.Fatal("the first run was not cut")
	}
	if _, err := srv.Fs().Stat("/up"); err == nil {
		t.Fatal("a cut upload stands under the final name")
	}
	ev2 := &eventLog{}
	out, err := Put(t.Context(), src, tg, putOpts(ev2))
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if got, _ := afero.ReadFile(srv.Fs(), "/up"); !bytes.Equal(got, payload) {
		t.Fatal("the file on the server differs")
	}
	ev2.mu.Lock()
	var starts []int64
	for _, e := range ev2.ev {
		if e.Kind == EventStart {
			starts = append(starts, e.Offset)
		}
	}
	ev2.mu.Unlock()
	if len(starts) != 1 || starts[0] != 700<<10 || out.Attempts != 1 {
		t.Errorf("the rerun started at %v in %d attempts, want once at %d", starts, out.Attempts, 700<<10)
	}
	if n := srv.Stats().BytesReceived; n != int64(len(payload)) {
		t.Errorf("the server received %d bytes in both runs, want the file once (%d)", n, len(payload))
	}

	// The same name, changed locally, and cut again: its temporary is
	// another, and the rerun starts it from 0.
	srv.SetFaults(testserver.Faults{UploadCutAfter: []int64{300 << 10}})
	changed := ftptest.RandomBytes(1 << 20)
	os.WriteFile(src, changed, 0o644)
	os.Chtimes(src, localTime.Add(time.Hour), localTime.Add(time.Hour))
	Put(t.Context(), src, tg, o)
	old := UploadPartName("/up", int64(len(changed)), localTime)
	srv.WriteFile(old, changed[:500<<10]) // lookalike bytes under the old version's name: never used
	ev3 := &eventLog{}
	if _, err := Put(t.Context(), src, tg, putOpts(ev3)); err != nil {
		t.Fatal(err)
	}
	if got, _ := afero.ReadFile(srv.Fs(), "/up"); !bytes.Equal(got, changed) {
		t.Fatal("the changed file on the server differs")
	}
}

// A temporary of the right size whose bytes are not the file's (the
// server offers a hash): the check fails, the upload starts again from 0,
// once, and the result verifies.
func TestPutTemporaryThatDoesNotVerifyRestarts(t *testing.T) {
	f := ftptest.StartFake(t)
	f.Hash = true
	data := ftptest.RandomBytes(50000)
	src := writeLocal(t, data)
	part := UploadPartName("/up", int64(len(data)), localTime)
	f.WriteFile(part, ftptest.RandomBytes(50000), time.Now())
	ev := &eventLog{}
	out, err := Put(t.Context(), src, target(t, f.Addr(), "/up"), putOpts(ev))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, _ := f.File("/up"); !bytes.Equal(got.Data, data) {
		t.Fatal("the server holds other bytes")
	}
	if ev.count(EventRestart) != 1 || f.Count("STOR") != 1 || out.Verified != "SHA-256" {
		t.Errorf("%d restarts, %d STORs, %+v; want 1, 1, verified by SHA-256", ev.count(EventRestart), f.Count("STOR"), out)
	}
}

// A server that will not rename over an existing file: the old file is
// whole until the new one is verified under its temporary name; only then
// is it deleted and the rename made, and a warning says so.
func TestPutRenameOverRefused(t *testing.T) {
	f := ftptest.StartFake(t)
	f.NoRenameOver = true
	f.Hash = true
	old, data := []byte("old contents"), ftptest.RandomBytes(40000)
	f.WriteFile("/up", old, time.Now())
	src := writeLocal(t, data)
	part := UploadPartName("/up", int64(len(data)), localTime)
	var problems []string
	deleted := false
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if cur, _ := f.File("/up"); !deleted && !bytes.Equal(cur.Data, old) {
			problems = append(problems, "before the DELE the old file changed, at "+verb)
		}
		if verb == "DELE" {
			deleted = true
			if p, _ := f.File(part); !bytes.Equal(p.Data, data) || f.Count("HASH") == 0 {
				problems = append(problems, "DELE before the new file was complete and hashed")
			}
		}
		return false
	}
	ev := &eventLog{}
	if _, err := Put(t.Context(), src, target(t, f.Addr(), "/up"), putOpts(ev)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, _ := f.File("/up"); !bytes.Equal(got.Data, data) {
		t.Fatal("the server holds other bytes")
	}
	if len(problems) > 0 {
		t.Error(problems)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	said := false
	for _, e := range ev.ev {
		said = said || e.Kind == EventWarning && strings.Contains(e.Reason, "does not rename over an existing file")
	}
	if !said || f.Count("DELE") != 1 || f.Count("RNTO") != 2 {
		t.Errorf("warning %v, DELE %d, RNTO %d: want a warning, one DELE and the rename tried twice", said, f.Count("DELE"), f.Count("RNTO"))
	}
	if names := f.Names(); len(names) != 1 {
		t.Errorf("files left: %q", names)
	}
}

// The rename went through but its reply was lost (the connection died):
// the next attempt finds the verified temporary gone and the final file
// the right one, and does not send the file again.
func TestPutLostRenameReply(t *testing.T) {
	f := ftptest.StartFake(t)
	data := ftptest.RandomBytes(30000)
	src := writeLocal(t, data)
	part := UploadPartName("/up", int64(len(data)), localTime)
	lost := false
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "RNTO" && !lost {
			lost = true
			f.Rename(part, arg)
			s.Close()
			return true
		}
		return false
	}
	ev := &eventLog{}
	out, err := Put(t.Context(), src, target(t, f.Addr(), "/up"), putOpts(ev))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, _ := f.File("/up"); !bytes.Equal(got.Data, data) {
		t.Fatal("the server holds other bytes")
	}
	if f.Count("STOR") != 1 || out.Status != "complete (verified)" || out.Attempts != 2 {
		t.Errorf("%d STORs, %+v; want one STOR and complete (verified) in 2 attempts", f.Count("STOR"), out)
	}
}

// A rename the server refuses for good fails the file at once: one RNFR
// and RNTO, no retry, a Permanent error that names the rename, the
// server's reply and the temporary, which stays on the server. A 4xx is
// tried again, and an RNFR refused because the temporary went away
// starts the upload again.
func TestPutRenameRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		verb           string // the command the server refuses, the first time or always
		reply          string
		always         bool
		gone           bool // the temporary is taken away before the refusal
		fail           bool
		renames, stors int
	}{
		{name: "RNFR 550", verb: "RNFR", reply: "550 Permission denied.", always: true, fail: true, renames: 1, stors: 1},
		{name: "RNTO 550", verb: "RNTO", reply: "550 Rename not allowed.", always: true, fail: true, renames: 1, stors: 1},
		{name: "RNTO 553", verb: "RNTO", reply: "553 Prohibited file name.", always: true, fail: true, renames: 1, stors: 1},
		{name: "RNTO 450", verb: "RNTO", reply: "450 Busy, try later.", renames: 2, stors: 1},
		{name: "RNFR 550 gone", verb: "RNFR", reply: "550 No such file.", gone: true, renames: 2, stors: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ftptest.StartFake(t)
			data := ftptest.RandomBytes(30000)
			src := writeLocal(t, data)
			part := UploadPartName("/up", int64(len(data)), localTime)
			refused := 0
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb != tc.verb || refused > 0 && !tc.always {
					return false
				}
				refused++
				if tc.gone {
					f.Remove(part)
				}
				s.Reply(tc.reply)
				return true
			}
			ev := &eventLog{}
			_, err := Put(t.Context(), src, target(t, f.Addr(), "/up"), putOpts(ev))
			if n, m := f.Count("RNTO"), f.Count("STOR"); n != tc.renames || m != tc.stors {
				t.Errorf("%d RNTO, %d STOR; want %d, %d", n, m, tc.renames, tc.stors)
			}
			if !tc.fail {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				if got, _ := f.File("/up"); !bytes.Equal(got.Data, data) {
					t.Fatal("the server holds other bytes")
				}
				return
			}
			if err == nil {
				t.Fatal("Put succeeded")
			}
			if c := Classify(err); c != Permanent || !errors.Is(err, errRenameRefused) {
				t.Errorf("class %v (%v), want permanent, a refused rename", c, err)
			}
			if n := ev.count(EventRetry); n != 0 {
				t.Errorf("%d retries, want none", n)
			}
			for _, want := range []string{"refused to rename", part, tc.reply, "verified upload stays on the server"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if got, ok := f.File(part); !ok || !bytes.Equal(got.Data, data) {
				t.Errorf("the verified temporary is not on the server")
			}
			if _, ok := f.File("/up"); ok {
				t.Errorf("/up exists")
			}
		})
	}
}

// memo is a TimeMemo for tests.
type memo struct {
	mu      sync.Mutex
	how     string
	known   bool
	learned []string
}

func (m *memo) TimeMethod(Target) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.how, m.known
}

func (m *memo) LearnTimeMethod(_ Target, how string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.how, m.known = how, true
	m.learned = append(m.learned, how)
}

// The file's time is set the way the server takes it, checked by reading
// it back, and learned; where no way works the memo learns that, and the
// next upload tries none.
func TestPutKeepsTheTime(t *testing.T) {
	for _, tc := range []struct {
		takes []string
		want  string
	}{
		{[]string{"MFMT"}, control.SetTimeMFMT},
		{[]string{"MDTM"}, control.SetTimeMDTM},
		{[]string{"SITE UTIME"}, control.SetTimeSiteUtime},
		{[]string{"MDTM", "SITE UTIME"}, control.SetTimeMDTM},
		{nil, ""},
	} {
		t.Run(strings.Join(tc.takes, "+"), func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.SetTime = tc.takes
			data := ftptest.RandomBytes(1000)
			src := writeLocal(t, data)
			m := &memo{}
			o := putOpts(&eventLog{})
			o.Times = m
			out, err := Put(t.Context(), src, target(t, f.Addr(), "/up"), o)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := f.File("/up")
			if out.TimeSet != tc.want || (tc.want != "") != got.ModTime.Equal(localTime) {
				t.Errorf("TimeSet %q, server time %v; want %q", out.TimeSet, got.ModTime, tc.want)
			}
			if len(m.learned) != 1 || m.learned[0] != tc.want {
				t.Errorf("learned %q, want [%q]", m.learned, tc.want)
			}
			// The next file uses what was learned: no other way is tried.
			f.ResetCounts()
			if _, err := Put(t.Context(), src, target(t, f.Addr(), "/up2"), o); err != nil {
				t.Fatal(err)
			}
			tries := f.Count("MFMT") + f.Count("SITE") + f.Count("MDTM")
			if want := map[bool]int{true: 2, false: 0}[tc.want != ""]; tries != want {
				t.Errorf("%d commands set or read the time on the next file, want %d (the way learned, and the read back)", tries, want)
			}
			if len(m.learned) != 1 {
				t.Errorf("learned again: %q", m.learned)
			}
		})
	}
}

// --inplace writes the final name directly: no temporary, no rename.
func TestPutInplace(t *testing.T) {
	f := ftptest.StartFake(t)
	data := ftptest.RandomBytes(3000)
	src := writeLocal(t, data)
	o := putOpts(&eventLog{})
	o.Inplace = true
	if _, err := Put(t.Context(), src, target(t, f.Addr(), "/up"), o); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.File("/up"); !bytes.Equal(got.Data, data) || f.Count("RNFR") != 0 || len(f.Names()) != 1 {
		t.Errorf("RNFR %d, names %q", f.Count("RNFR"), f.Names())
	}
}

func TestUploadPartName(t *testing.T) {
	a := UploadPartName("/d/data.csv", 10, localTime)
	if path.Dir(a) != "/d" || !strings.HasPrefix(path.Base(a), ".data.csv.") || !IsUploadPart(path.Base(a)) {
		t.Errorf("%q", a)
	}
	if b := UploadPartName("/d/data.csv", 10, localTime); b != a {
		t.Errorf("not the same for the same file: %q %q", a, b)
	}
	if b := UploadPartName("/d/data.csv", 11, localTime); b == a {
		t.Error("the same for another size")
	}
	if b := UploadPartName("/d/data.csv", 10, localTime.Add(time.Nanosecond)); b == a {
		t.Error("the same for another time")
	}
	long := UploadPartName("/"+strings.Repeat("x", 250), 1, localTime)
	if len(path.Base(long)) > 255 || !IsUploadPart(path.Base(long)) {
		t.Errorf("long name: %q", long)
	}
	for _, n := range []string{"data", ".data.keepftp-part", ".data.1234567.keepftp-part", ".data.1234567G.keepftp-part", "data.12345678.keepftp-part"} {
		if IsUploadPart(n) {
			t.Errorf("%q taken for a temporary", n)
		}
	}
}

// A temporary's name stays in its folder, is one of keepftp's by its
// form, is short enough for a file name, and says nothing of a name that
// is not one.
func FuzzUploadPartName(f *testing.F) {
	for _, s := range []string{"data.csv", ".hidden", "a b", strings.Repeat("x", 255), "x.12345678.keepftp-part", ".x.0123abcd.keepftp-part", "é.txt"} {
		f.Add(s, int64(10), int64(1700000000123456789))
	}
	f.Fuzz(func(t *testing.T, name string, size, ns int64) {
		if name == "" || strings.Contains(name, "/") || len(name) > 255 {
			return
		}
		p := UploadPartName("/d/"+name, size, time.Unix(0, ns))
		dir, base := path.Split(p)
		if dir != "/d/" || len(base) > 255 || !IsUploadPart(base) {
			t.Fatalf("%q -> %q", name, p)
		}
		if p2 := UploadPartName("/d/"+name, size, time.Unix(0, ns)); p2 != p {
			t.Fatalf("not the same twice: %q %q", p, p2)
		}
		if IsUploadPart(name) && !strings.HasSuffix(name, UploadPartSuffix) {
			t.Fatalf("%q taken for a temporary", name)
		}
	})
}

// A server that answers an upload cut in the network with a 5xx (as
// ftpserverlib does when the client had written all it had) but kept
// bytes of it: the failure is a broken transfer, not a refusal, and the
// next attempt resumes; a 5xx after which the server kept nothing stands.
func TestPutFiveHundredAfterKeptBytesResumes(t *testing.T) {
	for _, keeps := range []bool{true, false} {
		t.Run(fmt.Sprint("keeps=", keeps), func(t *testing.T) {
			f := ftptest.StartFake(t)
			data := ftptest.RandomBytes(40000)
			src := writeLocal(t, data)
			part := UploadPartName("/up", int64(len(data)), localTime)
			broke := false
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb != "STOR" || broke {
					return false
				}
				broke = true
				d, err := s.Data()
				if err != nil {
					s.Reply("425 no data")
					return true
				}
				s.Reply("150 go")
				got, _ := io.ReadAll(d)
				d.Close()
				if keeps {
					f.WriteFile(part, got[:len(got)/2], time.Now())
				}
				s.Reply("550 Issue during transfer: network error")
				return true
			}
			ev := &eventLog{}
			out, err := Put(t.Context(), src, target(t, f.Addr(), "/up"), putOpts(ev))
			if !keeps {
				if !control.IsCode(err, 550) || f.Count("STOR") != 1 {
					t.Errorf("err %v (%v), %d STOR; want the 550 to stand, no retry", err, Classify(err), f.Count("STOR"))
				}
				return
			}
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if got, _ := f.File("/up"); !bytes.Equal(got.Data, data) || out.Attempts != 2 || f.Count("REST") != 1 {
				t.Errorf("%d attempts, %d REST; want the second to resume", out.Attempts, f.Count("REST"))
			}
		})
	}
}
