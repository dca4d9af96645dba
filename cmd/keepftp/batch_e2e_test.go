package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"

	"github.com/keepftp/keepftp/testserver"
)

// checkJSONEvents parses every stdout line as an event and counts kinds.
func checkJSONEvents(t *testing.T, out []byte) map[string]int {
	t.Helper()
	kinds := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event line does not parse: %q: %v", sc.Text(), err)
		}
		kind, _ := ev["event"].(string)
		if kind == "" || ev["url"] == nil && kind != "summary" || ev["time"] == nil {
			t.Fatalf("event without kind, url or time: %q", sc.Text())
		}
		kinds[kind]++
	}
	return kinds
}

// A script's batch: 200 URLs from a list file, 8 at a time, JSON events.
func TestBatchListParallelJSON(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 4 << 20}})
	want := map[string][32]byte{}
	var list strings.Builder
	list.WriteString("# 200 files\n\n")
	dir := t.TempDir()
	for i := range 200 {
		name := fmt.Sprintf("/data/f%03d.bin", i)
		data := ftptest.RandomBytes(16<<10 + i*1024)
		srv.WriteFile(name, data)
		local := fmt.Sprintf("f%03d.bin", i)
		want[local] = sha256.Sum256(data)
		if i%2 == 0 {
			fmt.Fprintf(&list, "ftp://%s%s\n", srv.Addr(), name)
		} else { // half of the lines give a destination of their own
			fmt.Fprintf(&list, "ftp://%s%s %s\n", srv.Addr(), name, filepath.Join(dir, local))
		}
	}
	listFile := filepath.Join(t.TempDir(), "list.txt")
	os.WriteFile(listFile, []byte(list.String()), 0o644)
	code, out, stderr := runKeepftp(t, nil, "get", "-i", listFile, "-P", "8", "--json", "-o", dir)
	if code != ExitOK {
		t.Fatalf("keepftp: exit %d\n%s", code, stderr)
	}
	kinds := checkJSONEvents(t, []byte(out))
	if kinds["done"] != 200 || kinds["error"] != 0 || kinds["start"] < 200 {
		t.Errorf("events %v, want 200 done", kinds)
	}
	for local, sum := range want {
		data, err := os.ReadFile(filepath.Join(dir, local))
		if err != nil || sha256.Sum256(data) != sum {
			t.Errorf("%s: %v or sha256 differs", local, err)
		}
	}
	st := srv.Stats()
	if st.MaxActiveConns > 8 {
		t.Errorf("%d connections at once, want at most 8", st.MaxActiveConns)
	}
	if st.MaxActiveConns < 2 {
		t.Errorf("%d connection at once: nothing ran in parallel", st.MaxActiveConns)
	}
	if st.Connections > 8 {
		t.Errorf("%d connections in all for 200 files: connections were not reused", st.Connections)
	}
	t.Logf("events %v; %d connections, at most %d at once", kinds, st.Connections, st.MaxActiveConns)
}

// Some files of a batch are missing: the others arrive, the exit code says
// partial failure, and the summary names the missing ones.
func TestBatchPartialFailure(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	dir := t.TempDir()
	var args []string
	missing := map[int]bool{7: true, 23: true, 41: true}
	want := map[string][32]byte{}
	for i := range 50 {
		name := fmt.Sprintf("/f%02d.bin", i)
		if !missing[i] {
			data := ftptest.RandomBytes(4096 + i)
			srv.WriteFile(name, data)
			want[name[1:]] = sha256.Sum256(data)
		}
		args = append(args, "ftp://"+srv.Addr()+name)
	}
	code, text := runCombined(t, append([]string{"get", "-P", "4", "-o", dir}, args...)...)
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s", code, ExitPartial, text)
	}
	for name, sum := range want {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || sha256.Sum256(data) != sum {
			t.Errorf("%s: %v or sha256 differs", name, err)
		}
	}
	if !strings.Contains(text, "50 files: 47 done") || !strings.Contains(text, "3 failed") {
		t.Errorf("summary missing:\n%s", text)
	}
	for i := range missing {
		if !strings.Contains(text, fmt.Sprintf("f%02d.bin", i)) {
			t.Errorf("summary does not name f%02d.bin:\n%s", i, text)
		}
	}
	if n := srv.Stats().Connections; n > 4 {
		t.Errorf("%d connections for a 4-wide batch", n)
	}
}

// A glob URL expands to the matching files.
func TestGetGlob(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	for _, n := range []string{"a.csv", "b.csv", "c.txt"} {
		srv.WriteFile("/data/"+n, []byte(n))
	}
	dir := t.TempDir()
	if code, out := runCombined(t, "get", "-q", "-o", dir, "ftp://"+srv.Addr()+"/data/*.csv"); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	got, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(got) != 2 || filepath.Base(got[0]) != "a.csv" || filepath.Base(got[1]) != "b.csv" {
		t.Errorf("got %v, want a.csv and b.csv", got)
	}
}

// mirror of a 3-level tree of 200 files, stopped by an interrupt (SIGINT)
// midway and run again: the result is complete, and the rerun moves only what was
// missing (partial files resume, with a 4 KiB overlap each).
func TestMirrorInterruptedAndRerun(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{RateLimit: 2 << 20}})
	sizes := map[string]int64{}
	sums := map[string][32]byte{}
	var total int64
	for i := range 200 {
		rel := fmt.Sprintf("l1-%d/l2-%d/l3-%d/f%03d.bin", i%5, i%3, i%2, i)
		data := ftptest.RandomBytes(8<<10 + (i%37)*1024)
		srv.WriteFile("/tree/"+rel, data)
		sizes[rel], sums[rel] = int64(len(data)), sha256.Sum256(data)
		total += int64(len(data))
	}
	dst := t.TempDir()
	url := "ftp://" + srv.Addr() + "/tree"
	r := startKeepftp(t, nil, false, "mirror", "-q", "-P", "4", url, dst)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if _, err := srv.WaitStats(ctx, func(s testserver.Stats) bool { return s.BytesSent > total/3 }); err != nil {
		r.Interrupt()
		t.Fatal(err)
	}
	interruptRun(t, r)
	// What a rerun must fetch: whole files that are not here, and the
	// rest of partial ones.
	var missing int64
	complete := 0
	for rel, size := range sizes {
		local := filepath.Join(dst, rel)
		if st, err := os.Stat(local); err == nil && st.Size() == size {
			complete++
			continue
		}
		part := int64(0)
		// A mirror keeps its partial files in its staging directory.
		if st, err := os.Stat(filepath.Join(dst, ".keepftp", "part", rel)); err == nil {
			part = st.Size()
		}
		missing += size - part
		if part > 0 && part < size { // a complete .part is only verified
			missing += min(part, 4<<10)
		}
	}
	if complete == 0 || complete == len(sizes) {
		t.Fatalf("%d of %d files complete after the interrupt: the test did not interrupt midway", complete, len(sizes))
	}
	srv.SetFaults(testserver.Faults{})
	// The interrupted sessions' last writes may still be counted after
	// their connections are gone: wait for their end, and allow one copy
	// buffer per session below.
	if _, err := srv.WaitStats(ctx, func(s testserver.Stats) bool { return s.ActiveConns == 0 }); err != nil {
		t.Fatal(err)
	}
	before := srv.Stats().BytesSent
	if code, out := runCombined(t, "mirror", "-q", "-P", "4", url, dst); code != ExitOK {
		t.Fatalf("rerun: exit %d\n%s", code, out)
	}
	const lateWrites = 4 * 64 << 10
	if sent := srv.Stats().BytesSent - before; sent < missing || sent > missing+lateWrites {
		t.Errorf("rerun fetched %d bytes, want the %d missing (%d files were complete; up to %d more from the interrupted sessions' last writes)", sent, missing, complete, lateWrites)
	}
	n := 0
	filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		n++
		data, _ := os.ReadFile(p)
		if sha256.Sum256(data) != sums[filepath.ToSlash(rel)] {
			t.Errorf("%s differs or should not be there", rel)
		}
		return nil
	})
	if n != len(sizes) {
		t.Errorf("%d files after the rerun, want %d (no .part or state left)", n, len(sizes))
	}
	t.Logf("%d of %d files complete after SIGINT; the rerun fetched %d bytes", complete, len(sizes), missing)
}

func TestBashCompletion(t *testing.T) {
	t.Parallel()
	bin := keepftpBinary(t)
	script := `source <("$BIN" completion bash); COMP_WORDS=("$BIN" mi); COMP_CWORD=1; _keepftp_complete; echo "${COMPREPLY[@]}"`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "mirror" {
		t.Errorf("completing %q: %q, %v; want mirror", "mi", out, err)
	}
}

// On a pipe, nothing but errors and the summary: no bars, no escapes.
func TestNoBarsOnAPipe(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	srv.WriteFile("/a", ftptest.RandomBytes(1<<20))
	srv.WriteFile("/b", ftptest.RandomBytes(1<<20))
	dir := t.TempDir()
	code, out := runOnPipe(t, "get", "-o", dir, "ftp://"+srv.Addr()+"/a", "ftp://"+srv.Addr()+"/b")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if strings.Contains(out, "\x1b[") || strings.Contains(out, "█") {
		t.Errorf("terminal output on a pipe:\n%q", out)
	}
	if code, out = runOnPipe(t, "get", "-q", "-o", dir, "ftp://"+srv.Addr()+"/a"); code != ExitOK || len(out) != 0 {
		t.Errorf("-q printed %q (exit %d)", out, code)
	}
}

// put with several files and -r: every file arrives under its relative
// name, and a cut upload resumes.
func TestPutRecursive(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{UploadCutAfter: []int64{100 << 10}}})
	src := t.TempDir()
	files := map[string][]byte{
		"tree/a.bin":     ftptest.RandomBytes(300 << 10),
		"tree/sub/b.bin": ftptest.RandomBytes(10 << 10),
		"single.bin":     ftptest.RandomBytes(5 << 10),
	}
	for rel, data := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(src, rel)), 0o755)
		os.WriteFile(filepath.Join(src, rel), data, 0o644)
	}
	code, out := runCombined(t, "put", "-r", "-P", "2", "--retry-max-delay", "10ms",
		filepath.Join(src, "tree"), filepath.Join(src, "single.bin"), "ftp://"+srv.Addr()+"/up/")
	if code != ExitOK {
		t.Fatalf("put: exit %d\n%s", code, out)
	}
	for rel, want := range files {
		f, err := srv.Fs().Open("/up/" + rel)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		var got bytes.Buffer
		got.ReadFrom(f)
		f.Close()
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs", rel)
		}
	}
}
