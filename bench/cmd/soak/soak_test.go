package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/internal/realserver"
)

// TestSoakShort is the CI soak (soak -short): 120 files from 0 B to 3 MiB,
// both ways at -P 8 through the chaotic middlebox (put -r, the upload
// mirror, the download mirror), on the test server and on pure-ftpd, then
// each mirror's rerun. Nothing may be lost, left behind or
// transferred again, and every kind of fault must have been injected
// (a soak that met no fault shows nothing).
func TestSoakShort(t *testing.T) {
	cfg := shortConfig()
	cfg.Work = t.TempDir()
	var servers []string
	for _, name := range cfg.Servers {
		if name != "testserver" {
			if err := realserver.Check(realserver.Kind(name), realserver.Options{}); err != nil {
				if os.Getenv("CI") == "true" || !errors.Is(err, realserver.ErrNotInstalled) && !errors.Is(err, realserver.ErrNeedsRoot) {
					t.Fatalf("%s: %v (%s)", name, err, realserver.InstallHint)
				}
				t.Logf("%s left out: %v", name, err)
				continue
			}
		}
		servers = append(servers, name)
	}
	cfg.Servers = servers
	var out strings.Builder
	total, err := soak(t.Context(), cfg, &out)
	t.Logf("\n%s%s", out.String(), total)
	if err != nil {
		t.Fatal(err)
	}
	if total.failed() {
		t.Fatalf("lost %d files, left %d behind, the rerun transferred %d", total.Lost, total.Leftover, total.Rerun)
	}
	f := total.Faults
	if f.Cuts == 0 || f.Stalls == 0 || f.Pauses == 0 || f.Expiries == 0 || total.Retries == 0 {
		t.Fatalf("faults %+v, retries %d: every kind must be injected, and retried", f, total.Retries)
	}
	if want := int64(3 * len(cfg.Servers) * cfg.Files); total.Files != want {
		t.Fatalf("%d files checked, want %d", total.Files, want)
	}
}
