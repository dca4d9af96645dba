package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/realserver"
	"github.com/keepftp/keepftp/resume"
)

// uploadMarkers are, per server, what a log line recording an upload
// holds.
var uploadMarkers = map[realserver.Kind]string{
	realserver.Vsftpd:    " UPLOAD: ", // OK UPLOAD, FAIL UPLOAD
	realserver.Proftpd:   " _ i ",     // xferlog: binary, no action, incoming
	realserver.PureFTPd:  `"PUT `,
	realserver.Pyftpdlib: "] STOR ",
}

// The binary against each real server, plain and over explicit TLS: an
// upload mirror interrupted with SIGINT exits 130 and leaves no partial
// file under a final name; the rerun exits 0, resumes the temporary, and
// every file's sha256 on the server's disk is right; the server's log
// records every upload to a temporary and none to a final name; a third
// run exits 0 and skips all.
func TestMirrorUpSignalRerunOnRealServers(t *testing.T) {
	bin := keepftpBinary(t)
	for _, kind := range realserver.Kinds {
		for _, mode := range []realserver.TLSMode{realserver.NoTLS, realserver.ExplicitTLS} {
			t.Run(string(kind)+"/"+mode.String(), func(t *testing.T) {
				t.Parallel()
				rs := realserver.Start(t, kind, realserver.Options{Digest: true, TLS: mode})
				user, pw := rs.Login()
				scheme, extra := "ftp", []string{"--no-profile"}
				if mode != realserver.NoTLS {
					scheme, extra = "ftpes", append(extra, "--ca-file", rs.PKI.CAFile)
				}
				u := url.URL{Scheme: scheme, User: url.UserPassword(user, pw), Host: rs.Addr, Path: path.Join(rs.UploadDir, "m")}
				files := map[string][]byte{"big.bin": ftptest.RandomBytes(1 << 20), "sub/small": ftptest.RandomBytes(10000)}
				dir := t.TempDir()
				for rel, data := range files {
					p := filepath.Join(dir, filepath.FromSlash(rel))
					os.MkdirAll(filepath.Dir(p), 0o755)
					os.WriteFile(p, data, 0o644)
				}
				remoteDir := filepath.Join(rs.Root, filepath.FromSlash(u.Path))

				// 1. SIGINT once the big file is part way.
				cmd := exec.Command(bin, append(append([]string{"mirror", "--json", "--limit-rate", "256K"}, extra...), dir, u.String())...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				partWay := make(chan struct{})
				go func() {
					sc := bufio.NewScanner(out)
					signalled := false
					for sc.Scan() {
						var e map[string]any
						json.Unmarshal(sc.Bytes(), &e)
						if b, _ := e["bytes"].(float64); !signalled && e["event"] == "progress" && strings.HasSuffix(e["url"].(string), "/big.bin") && b >= 200<<10 {
							signalled = true
							close(partWay)
						}
					}
				}()
				select {
				case <-partWay:
				case <-time.After(time.Minute): // a bound, not a measure
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("no progress of the big file\n%s", stderr.String())
				}
				interruptAndWait(t, cmd, syscall.SIGINT, &stderr)
				if got, err := os.ReadFile(filepath.Join(remoteDir, "big.bin")); err == nil {
					t.Fatalf("after SIGINT, big.bin stands on the server with %d bytes", len(got))
				}
				if held := tempBytes(t, remoteDir); held == 0 {
					t.Fatalf("after SIGINT no temporary holds any of the file")
				}

				// 2. The rerun.
				code, stdout, errOut := runKeepftp(t, nil, append(append([]string{"mirror", "--json"}, extra...), dir, u.String())...)
				if code != ExitOK {
					t.Fatalf("rerun: exit %d\n%s", code, errOut)
				}
				resumedAt := -1.0
				for _, e := range jsonEvents(t, stdout) {
					if e["event"] == "start" && strings.HasSuffix(e["url"].(string), "/big.bin") && resumedAt < 0 {
						resumedAt, _ = e["offset"].(float64)
					}
				}
				if resumedAt <= 0 {
					t.Errorf("the rerun did not resume big.bin's temporary (first start at %v)", resumedAt)
				}
				for rel, data := range files {
					got, err := os.ReadFile(filepath.Join(remoteDir, filepath.FromSlash(rel)))
					if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
						t.Errorf("%s on the server's disk: %v, sha256 differs", rel, err)
					}
				}
				if held := tempBytes(t, remoteDir); held != 0 {
					t.Errorf("temporaries left holding %d bytes", held)
				}
				logs, uploads := rs.Logs(), 0
				for _, l := range strings.Split(logs, "\n") {
					if !strings.Contains(l, uploadMarkers[kind]) {
						continue
					}
					uploads++
					if !strings.Contains(l, resume.UploadPartSuffix) {
						t.Errorf("the server's log records an upload to a final name: %s", l)
					}
				}
				if uploads < 3 {
					t.Errorf("the server's log records %d uploads, want the big file's two and the small one's:\n%s", uploads, logs)
				}

				// 3. Up to date.
				code, stdout, errOut = runKeepftp(t, nil, append(append([]string{"mirror", "--json"}, extra...), dir, u.String())...)
				evs := jsonEvents(t, stdout)
				sum := evs[len(evs)-1]
				if code != ExitOK || sum["event"] != "summary" || sum["up_to_date"] != float64(len(files)) {
					t.Errorf("third run: exit %d, summary %v\n%s", code, sum, errOut)
				}
				t.Logf("%s %s: SIGINT: exit 130; rerun: exit 0, big.bin resumed at %.0f, sha256 right, %d uploads in the log, all to temporaries; third run: exit 0, %v up to date", kind, mode, resumedAt, uploads, sum["up_to_date"])
			})
		}
	}
}

// tempBytes sums the sizes of the upload temporaries below dir on the
// server's disk.
func tempBytes(t *testing.T, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && resume.IsUploadPart(d.Name()) {
			if st, err := d.Info(); err == nil {
				n += st.Size()
			}
		}
		return nil
	})
	return n
}
