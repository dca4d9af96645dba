package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
	"github.com/spf13/afero"
)

// upTree writes n files of size bytes (two in a subfolder) and returns the
// folder and the files by their remote names below it.
func upTree(t *testing.T, n, size int) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{}
	for i := range n {
		rel := fmt.Sprintf("f%d", i)
		if i%2 == 1 {
			rel = "sub/" + rel
		}
		files[rel] = ftptest.RandomBytes(size + i)
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, files[rel], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

// serverState is what the server holds below top: final files by name,
// and the bytes held in upload temporaries.
func serverState(t *testing.T, srv *testserver.Server, top string) (finals map[string][]byte, temps int, held int64) {
	t.Helper()
	finals = map[string][]byte{}
	afero.Walk(srv.Fs(), top, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		if resume.IsUploadPart(path.Base(p)) {
			temps++
			held += info.Size()
			return nil
		}
		data, _ := afero.ReadFile(srv.Fs(), p)
		rel := strings.TrimPrefix(p, top+"/")
		finals[rel] = data
		return nil
	})
	return finals, temps, held
}

// `keepftp mirror DIR URL` uploads; stopped by SIGINT (exit 130) or
// SIGKILL part way, it leaves no partial file under a final name, only
// temporaries; the rerun (exit 0) resumes each temporary, sends only the
// bytes the server does not hold, leaves no temporary, and every file's
// sha256 on the server is the local one's. A second rerun skips all.
func TestMirrorUpSignalThenRerun(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			bin := keepftpBinary(t)
			srv := ftptest.StartServer(t, testserver.Options{EnableHASH: true})
			dir, files := upTree(t, 4, 1<<20)
			var total int64
			for _, d := range files {
				total += int64(len(d))
			}
			url := "ftp://" + srv.Addr() + "/dst"
			cmd := exec.Command(bin, "mirror", "-q", "-P", "2", "--limit-rate", "512K", "--no-profile", dir, url)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithTimeout(t.Context(), time.Minute) // a bound, not a measure
			defer stop()
			if _, err := srv.WaitStats(ctx, func(st testserver.Stats) bool { return st.BytesReceived >= 700<<10 }); err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the mirror never got going: %v\n%s", err, stderr.String())
			}
			if sig == syscall.SIGKILL {
				cmd.Process.Kill()
				cmd.Wait()
			} else {
				interruptAndWait(t, cmd, sig, &stderr)
			}
			srv.WaitStats(ctx, func(st testserver.Stats) bool { return st.ActiveConns == 0 })
			first := srv.Stats().BytesReceived
			finals, temps, held := serverState(t, srv, "/dst")
			var done int64
			for rel, data := range finals {
				if sha256.Sum256(data) != sha256.Sum256(files[rel]) {
					t.Errorf("after %v, %s stands on the server with %d of %d bytes", sig, rel, len(data), len(files[rel]))
				}
				done += int64(len(data))
			}
			if temps == 0 || held == 0 {
				t.Fatalf("after %v: %d temporaries holding %d bytes; want the partial uploads kept", sig, temps, held)
			}
			code, out, errOut := runKeepftp(t, nil, "mirror", "--json", "-P", "2", "--no-profile", dir, url)
			if code != ExitOK {
				t.Fatalf("rerun: exit %d\n%s", code, errOut)
			}
			resumed := 0
			for _, e := range jsonEvents(t, out) {
				if e["event"] == "start" && e["offset"] != nil && e["offset"].(float64) > 0 {
					resumed++
				}
			}
			if resumed == 0 {
				t.Errorf("the rerun resumed no upload from its temporary")
			}
			finals, temps, _ = serverState(t, srv, "/dst")
			for rel, data := range files {
				if sha256.Sum256(finals[rel]) != sha256.Sum256(data) {
					t.Errorf("%s: sha256 on the server differs after the rerun", rel)
				}
			}
			if temps != 0 {
				t.Errorf("%d temporaries left after the rerun", temps)
			}
			sent := srv.Stats().BytesReceived - first
			if want := total - held - done; sent != want {
				t.Errorf("the rerun sent %d bytes; the server lacked %d (of %d: %d in temporaries, %d in finished files)", sent, want, total, held, done)
			}
			t.Logf("%v after %d bytes: %d finished, %d temporaries holding %d bytes; the rerun sent %d, resuming %d", sig, first, len(finals), temps, held, sent, resumed)
			before := srv.Stats().Uploads
			code, out, errOut = runKeepftp(t, nil, "mirror", "--json", "--no-profile", dir, url)
			if code != ExitOK || srv.Stats().Uploads != before {
				t.Errorf("second rerun: exit %d, %d uploads\n%s", code, srv.Stats().Uploads-before, errOut)
			}
			skips := 0
			for _, e := range jsonEvents(t, out) {
				if e["event"] == "skip" && strings.HasPrefix(e["reason"].(string), "up to date: same size and time") {
					skips++
				}
			}
			if skips != len(files) {
				t.Errorf("second rerun: %d skips by size and time, want %d", skips, len(files))
			}
		})
	}
}

// mirror's direction is the order of its arguments; anything else is a
// usage error (exit 2) before anything connects.
func TestMirrorArgumentsExit2(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	addr := f.Addr()
	url := "ftp://" + addr + "/d"
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for _, args := range [][]string{
		{"mirror", url, url},
		{"mirror", dir, dir},
		{"mirror", url},
		{"mirror", filepath.Join(dir, "missing"), url},
		{"mirror", file, url},
	} {
		code, _, stderr := runKeepftp(t, nil, args...)
		if code != ExitUsage || !strings.Contains(stderr, "keepftp:") {
			t.Errorf("%q: exit %d, %q; want 2 with a message", args, code, stderr)
		}
	}
	if log := f.Log(); len(log) != 0 {
		t.Errorf("commands reached the server from bad command lines: %q", log)
	}
}
