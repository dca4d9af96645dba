package main

import (
	"crypto/sha256"
	"errors"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/internal/realserver"
)

// mtime0 is the time of the local files of the tests against real servers.
var mtime0 = time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC)

// The binary against each real server, plain and over explicit TLS, with
// the server's own log of commands (realserver.Options.LogCommands):
//  1. mirror --dry-run --delete DIR URL exits 0, prints deletes, and the
//     server's log shows no command that changes a file; the local tree is
//     as it was;
//  2. mirror --delete DIR URL exits 0, each file's sha256 on the server's
//     disk is the local one's, the log shows DELE and RMD of what the local
//     tree lacks and nothing of the name the filter leaves out;
//  3. mirror --delete URL DIR2 exits 0, each local sha256 is the server's,
//     the local extras are gone ("deleted:" lines), the server is sent no
//     DELE nor RMD;
//  4. with a folder the server may not read (mode 000) and a name with a
//     control byte, mirror --delete URL DIR3 exits 9, deletes nothing and
//     says why.
func TestSyncOnRealServers(t *testing.T) {
	keepftpBinary(t)
	for _, kind := range realserver.Kinds {
		for _, mode := range []realserver.TLSMode{realserver.NoTLS, realserver.ExplicitTLS} {
			t.Run(string(kind)+"/"+mode.String(), func(t *testing.T) {
				t.Parallel()
				rs := realserver.Start(t, kind, realserver.Options{TLS: mode, LogCommands: true})
				commands := func() []string {
					t.Helper()
					cmds, err := rs.Commands()
					if errors.Is(err, realserver.ErrNoCommandLog) {
						t.Skipf("%v", err)
					}
					if err != nil {
						t.Fatal(err)
					}
					return cmds
				}
				user, pw := rs.Login()
				scheme, flags := "ftp", []string{"--no-profile"}
				if mode != realserver.NoTLS {
					scheme, flags = "ftpes", append(flags, "--ca-file", rs.PKI.CAFile)
				}
				top := path.Join(rs.UploadDir, "sync")
				u := url.URL{Scheme: scheme, User: url.UserPassword(user, pw), Host: rs.Addr, Path: top}
				run := func(args ...string) (int, string, string) {
					t.Helper()
					return runKeepftp(t, nil, append(append([]string{"mirror"}, flags...), args...)...)
				}
				files := map[string][]byte{"a.bin": ftptest.RandomBytes(200_000), "sub/b.bin": ftptest.RandomBytes(30_000)}
				dir := t.TempDir()
				for rel, data := range files {
					writeFiles(t, dir, map[string]string{rel: string(data)}, mtime0)
				}
				for _, rel := range []string{"extra", "gone/y", "sub/n.log"} {
					if err := rs.WriteFile(path.Join(top, rel), []byte(rel)); err != nil {
						t.Fatal(err)
					}
				}

				// 1. The dry run.
				before, logged := snapshot(t, dir), len(commands())
				code, out, errOut := run("--dry-run", "--delete", "--exclude", "*.log", dir, u.String())
				if code != ExitOK || !strings.Contains(out, "delete    gone/y  (not in the source)") {
					t.Errorf("dry run: exit %d\n%s\n%s", code, out, errOut)
				}
				if c := changingCommands(commands()[logged:]); len(c) > 0 {
					t.Errorf("dry run: the server's log shows %q", c)
				}
				sameSnapshot(t, before, snapshot(t, dir))

				// 2. Upload with --delete.
				logged = len(commands())
				code, _, errOut = run("--delete", "--exclude", "*.log", dir, u.String())
				if code != ExitOK {
					t.Fatalf("upload: exit %d\n%s", code, errOut)
				}
				for rel, data := range files {
					got, err := rs.ReadFile(path.Join(top, rel))
					if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
						t.Errorf("%s on the server's disk: sha256 differs (%v)", rel, err)
					}
				}
				// A server's log is read as it comes (pyftpdlib's through a
				// pipe, pure-ftpd's through syslog): on a loaded run the last
				// line came after the client's exit. Read until it holds the
				// three removals, for 5 s at most.
				var removes []string
				for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
					removes = nil
					for _, c := range commands()[logged:] {
						if strings.HasPrefix(c, "DELE ") || strings.HasPrefix(c, "RMD ") {
							removes = append(removes, strings.Replace(c, top+"/", "", 1))
						}
					}
					if len(removes) >= 3 || time.Now().After(deadline) {
						break
					}
				}
				if want := []string{"DELE extra", "DELE gone/y", "RMD gone"}; !slices.Equal(sortedStrings(removes), want) || slices.Index(removes, "RMD gone") < slices.Index(removes, "DELE gone/y") {
					t.Errorf("the server's log shows %q, want %q, the folder last", removes, want)
				}
				if got, err := rs.ReadFile(path.Join(top, "sub/n.log")); err != nil || string(got) != "sub/n.log" {
					t.Errorf("the name the filter leaves out: %q, %v", got, err)
				}

				// 3. Download with --delete.
				dir2 := t.TempDir()
				writeFiles(t, dir2, map[string]string{"x": "x", "old/z": "z"}, mtime0)
				logged = len(commands())
				code, _, errOut = run("--delete", u.String(), dir2)
				if code != ExitOK {
					t.Fatalf("download: exit %d\n%s", code, errOut)
				}
				for rel, data := range files {
					got, _ := os.ReadFile(filepath.Join(dir2, filepath.FromSlash(rel)))
					if sha256.Sum256(got) != sha256.Sum256(data) {
						t.Errorf("local %s: sha256 differs", rel)
					}
				}
				for _, rel := range []string{"x", "old/z", "old"} {
					if _, err := os.Lstat(filepath.Join(dir2, rel)); err == nil || !strings.Contains(errOut, "deleted: "+filepath.Join(dir2, rel)+"\n") {
						t.Errorf("local %s: %v\n%s", rel, err, errOut)
					}
				}
				if c := changingCommands(commands()[logged:]); len(c) > 0 {
					t.Errorf("download: the server's log shows %q", c)
				}

				// 4. A listing that is not complete.
				locked := path.Join(top, "locked")
				rs.WriteFile(path.Join(locked, "f"), []byte("f"))
				rs.WriteFile(path.Join(top, "esc\x1b[2Jname"), []byte("e"))
				lockedDir := filepath.Join(rs.Root, filepath.FromSlash(locked))
				if err := os.Chmod(lockedDir, 0); err != nil {
					t.Fatal(err)
				}
				defer os.Chmod(lockedDir, 0o755)
				dir3 := t.TempDir()
				writeFiles(t, dir3, map[string]string{"extra": "x", "locked/f": "old f", "locked/g": "g"}, mtime0)
				before = snapshot(t, dir3)
				code, _, errOut = run("--delete", u.String(), dir3)
				if code != ExitPartial || !strings.Contains(errOut, "not deleted: "+dir3+": deletes held back: the source's listing was not complete") {
					t.Errorf("exit %d, want 9 with a line saying why\n%s", code, errOut)
				}
				after := snapshot(t, dir3)
				for rel := range before {
					if _, ok := after[rel]; !ok {
						t.Errorf("local %s was deleted", rel)
					}
				}
			})
		}
	}
}
