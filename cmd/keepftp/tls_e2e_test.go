package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// keepftp get over FTPS against a self-signed certificate: refused as
// untrusted (ExitRefused) unless --insecure, for explicit (ftpes://) and
// implicit (ftps://) TLS.
func TestE2ETLSGet(t *testing.T) {
	bin := keepftpBinary(t)
	for _, tc := range []struct {
		scheme   string
		implicit bool
	}{
		{"ftpes", false},
		{"ftps", true},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			t.Parallel()
			serverTLS, _, err := testserver.SelfSignedTLS()
			if err != nil {
				t.Fatal(err)
			}
			srv := ftptest.StartServer(t, testserver.Options{TLS: serverTLS, ImplicitTLS: tc.implicit})
			payload := ftptest.RandomBytes(3 << 20)
			if err := srv.WriteFile("/f.bin", payload); err != nil {
				t.Fatal(err)
			}
			url := tc.scheme + "://" + srv.Addr() + "/f.bin"
			dst := filepath.Join(t.TempDir(), "f.bin")

			cmd := exec.Command(bin, "get", "-q", "--timeout", "5s", "-o", dst, url)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err = cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != ExitRefused {
				t.Fatalf("get of an untrusted server: %v, want exit code %d\n%s", err, ExitRefused, stderr.String())
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Errorf("%s exists after a refused get", dst)
			}
			t.Logf("refused: %s", bytes.TrimSpace(stderr.Bytes()))

			out, err := exec.Command(bin, "get", "-q", "--insecure", "--timeout", "5s", "-o", dst, url).CombinedOutput()
			if err != nil {
				t.Fatalf("get --insecure: %v\n%s", err, out)
			}
			got, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("got %d bytes that differ from the %d of the file", len(got), len(payload))
			}
		})
	}
}
