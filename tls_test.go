package keepftp

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
)

// Options.TLS, the library's face of --ca-file, --pin-sha256 and the
// others: a trusted CA file works, a wrong pin is refused with a
// *control.CertError, an unreadable file fails every call with its name.
func TestClientTLSOptions(t *testing.T) {
	t.Parallel()
	serverTLS, _, err := testserver.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	leaf := serverTLS.Certificates[0].Leaf
	srv := ftptest.StartServer(t, testserver.Options{TLS: serverTLS})
	payload := ftptest.RandomBytes(256 << 10)
	srv.WriteFile("/f", payload)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o644)
	url := "ftpes://" + srv.Addr() + "/f"
	quick := Options{Timeout: 5 * time.Second, Retry: RetryPolicy{MaxAttempts: 1}}

	o := quick
	o.TLS = TLSOptions{CAFile: caFile}
	c := NewClient(o)
	defer c.Close()
	dst := filepath.Join(dir, "f")
	if _, err := c.Get(t.Context(), url, dst); err != nil {
		t.Fatalf("with the CA file: %v", err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, payload) {
		t.Fatal("downloaded file differs")
	}

	wrong := sha256.Sum256([]byte("another key"))
	o.TLS.PinSHA256 = []string{base64.StdEncoding.EncodeToString(wrong[:])}
	c2 := NewClient(o)
	defer c2.Close()
	_, err = c2.Get(t.Context(), url, filepath.Join(dir, "g"))
	var ce *control.CertError
	if !errors.As(err, &ce) || !errors.Is(err, control.ErrPinMismatch) || resume.Classify(err) != resume.Permanent {
		t.Fatalf("wrong pin: %v (class %v), want a permanent *control.CertError for the pin", err, resume.Classify(err))
	}

	o.TLS = TLSOptions{CAFile: filepath.Join(dir, "missing.pem")}
	c3 := NewClient(o)
	defer c3.Close()
	if _, err := c3.Get(t.Context(), url, filepath.Join(dir, "h")); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("missing CA file: %v", err)
	}
}
