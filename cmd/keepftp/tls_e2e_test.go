package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/afero"

	"github.com/keepftp/keepftp/control"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// keepftp get over FTPS against a self-signed certificate: refused as
// untrusted (ExitRefused) unless --insecure, for explicit (ftpes://) and
// implicit (ftps://) TLS.
func TestE2ETLSGet(t *testing.T) {
	t.Parallel()
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

			code, _, stderr := runKeepftp(t, nil, "get", "-q", "--timeout", "5s", "-o", dst, url)
			if code != ExitRefused {
				t.Fatalf("get of an untrusted server: exit %d, want %d\n%s", code, ExitRefused, stderr)
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Errorf("%s exists after a refused get", dst)
			}
			t.Logf("refused: %s", strings.TrimSpace(stderr))

			if code, out := runCombined(t, "get", "-q", "--insecure", "--timeout", "5s", "-o", dst, url); code != ExitOK {
				t.Fatalf("get --insecure: exit %d\n%s", code, out)
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

// The certificate flags: --ca-file trusts a CA, --pin-sha256 pins the
// server's key (also with --insecure), --tls-max caps the version; a
// refused certificate exits 8 naming the cause and the certificate's
// SHA-256 fingerprint; a bad flag exits 2.
func TestE2ETLSCertificateFlags(t *testing.T) {
	t.Parallel()
	serverTLS, _, err := testserver.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	leaf := serverTLS.Certificates[0].Leaf
	srv := ftptest.StartServer(t, testserver.Options{TLS: serverTLS})
	payload := ftptest.RandomBytes(1 << 20)
	if err := srv.WriteFile("/f.bin", payload); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	pin := base64.StdEncoding.EncodeToString(spki[:])
	wrongPin := base64.StdEncoding.EncodeToString(make([]byte, 32))
	url := "ftpes://" + srv.Addr() + "/f.bin"
	fp := control.Fingerprint(leaf)

	for i, tc := range []struct {
		args []string
		code int
		want []string // in stderr
	}{
		{nil, ExitRefused, []string{"unknown authority", fp}},
		{[]string{"--ca-file", caFile}, ExitOK, nil},
		{[]string{"--ca-file", caFile, "--tls-max", "1.2"}, ExitOK, nil},
		{[]string{"--insecure", "--pin-sha256", pin}, ExitOK, nil},
		{[]string{"--ca-file", caFile, "--pin-sha256", "sha256//" + wrongPin}, ExitRefused, []string{"pin mismatch", fp, pin}},
		{[]string{"--tls-max", "1.4"}, ExitUsage, []string{"--tls-max"}},
		{[]string{"--ca-file", filepath.Join(dir, "missing.pem")}, ExitUsage, []string{"missing.pem"}},
		{[]string{"--cert", caFile}, ExitUsage, []string{"key"}},
	} {
		dst := filepath.Join(dir, fmt.Sprintf("out%d", i))
		args := append([]string{"get", "-q", "--timeout", "5s", "--retries", "1", "-o", dst}, tc.args...)
		code, _, stderr := runKeepftp(t, nil, append(args, url)...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q does not name %q", tc.args, stderr, w)
			}
		}
		if code == ExitOK {
			if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, payload) {
				t.Errorf("%v: downloaded file differs (%v)", tc.args, err)
			}
		}
	}

	// An upload over FTPS with the CA trusted.
	src := filepath.Join(dir, "up.bin")
	os.WriteFile(src, payload, 0o644)
	if code, out := runCombined(t, "put", "-q", "--timeout", "5s", "--ca-file", caFile, src, "ftpes://"+srv.Addr()+"/up.bin"); code != ExitOK {
		t.Fatalf("put over FTPS: exit %d\n%s", code, out)
	}
	got, err := afero.ReadFile(srv.Fs(), "/up.bin")
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("uploaded %d bytes (%v), want %d", len(got), err, len(payload))
	}
}
