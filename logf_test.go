package keepftp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

// Options.Logf receives the Client's notes: the retries, and what its own
// NOOP knowledge learns (a server that aborts transfers on NOOP gets no
// more of them). Nothing reaches or changes the package-level registry.
func TestOptionsLogf(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Noop: testserver.NoopAborts, Faults: testserver.Faults{RateLimit: 256 << 10}})
	payload := ftptest.RandomBytes(256 << 10) // a second at the rate: NOOPs go out mid-transfer
	srv.WriteFile("/f", payload)
	var log protoLog
	c := NewClient(Options{Logf: log.logf, NoProfile: true, Timeout: 2 * time.Second, Keepalive: 200 * time.Millisecond,
		Retry: RetryPolicy{Retries: 4, MaxAttempts: 6, BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	defer c.Close()
	dst := filepath.Join(t.TempDir(), "f")
	out, err := c.Get(t.Context(), "ftp://"+srv.Addr()+"/f", dst)
	if err != nil {
		t.Fatalf("get: %v\nlog:\n%s", err, &log)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, payload) || out.Attempts < 3 {
		t.Errorf("%d bytes after %d attempts, want the file after at least 3 (two aborted)", len(got), out.Attempts)
	}
	for _, want := range []string{"retrying in", "right after a NOOP while data was flowing: no more NOOPs during transfers to it"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("Options.Logf got no %q:\n%s", want, &log)
		}
	}
	if b := c.noops.Behaviour(srv.Addr()); b != noop.Aborts {
		t.Errorf("the Client's own registry says %v, want %v", b, noop.Aborts)
	}
	if noop.Default.Logf != nil || noop.Default.Behaviour(srv.Addr()) != noop.Unknown {
		t.Errorf("the package-level registry was used: Logf set %v, behaviour %v", noop.Default.Logf != nil, noop.Default.Behaviour(srv.Addr()))
	}
}
