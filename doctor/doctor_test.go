package doctor

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/spf13/afero"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

// quick probes for a second; the timeout leaves room for a loaded machine
// (the 16 MiB file of the download probe is written to a server under the
// race detector).
var quick = Options{Timeout: 5 * time.Second, ProbeSize: 256 << 10, ProbeTime: time.Second}

// The doctor tells each way of answering NOOPs during transfers apart.
func TestDoctorNoopBehaviour(t *testing.T) {
	t.Parallel()
	for style, want := range map[testserver.NoopStyle]noop.Behaviour{
		testserver.NoopAfterTransfer: noop.AfterFinal,
		testserver.NoopImmediate200:  noop.AtOnce,
		testserver.NoopImmediate500:  noop.WithError,
		testserver.NoopNever:         noop.Lost,
		testserver.NoopAborts:        noop.Aborts,
	} {
		t.Run(style.String(), func(t *testing.T) {
			t.Parallel()
			srv := ftptest.StartServer(t, testserver.Options{Noop: style, EnableHASH: true})
			r, err := Run(t.Context(), "ftp://"+srv.Addr()+"/", quick)
			if err != nil {
				t.Fatal(err)
			}
			if r.NoopDownload != want.String() || r.NoopUpload != want.String() {
				t.Errorf("download %q, upload %q; want %q (notes %q)", r.NoopDownload, r.NoopUpload, want, r.Notes)
			}
			if !r.EPSV || !r.PASV || !r.MLSD || len(r.Hashes) == 0 || r.Hashes[0] != control.SHA256 {
				t.Errorf("features: %+v", r)
			}
			left, err := afero.Glob(srv.Fs(), "/.keepftp-doctor*")
			if err != nil || len(left) != 0 {
				t.Errorf("probe files left behind: %v %v", left, err)
			}
		})
	}
}

// Through a middlebox that silently drops control flows idle for 1 s, the
// idle probe brackets the limit (to 20%) and recommends a keepalive inside
// it. The bounds checked are those no load can move: a gap the middlebox
// saw is at least the probe's (it also counts the trips of the last reply
// and the NOOP), so nothing above the limit survives; the doubling gaps
// (250 ms, 500 ms, 1 s, 2 s) fail by 2 s at the latest.
func TestDoctorFindsIdleLimit(t *testing.T) {
	t.Parallel()
	const limit = time.Second
	srv := ftptest.StartServer(t, testserver.Options{})
	mb := ftptest.StartMiddlebox(t, testserver.MiddleboxOptions{Target: srv.Addr(), IdleTimeout: limit, Mode: testserver.ExpireBlackhole})
	o := quick
	o.IdleProbe, o.MinIdle, o.MaxIdle = true, 250*time.Millisecond, 4*time.Second
	o.Timeout = 2 * time.Second // what a failed gap waits for its NOOP's answer
	r, err := Run(t.Context(), "ftp://"+mb.Addr()+"/", o)
	if err != nil {
		t.Fatal(err)
	}
	survived, failed := time.Duration(r.Idle.Survived), time.Duration(r.Idle.Failed)
	if survived <= 0 || survived > limit || failed <= survived || failed > 2*limit || failed-survived > survived/5 {
		t.Errorf("idle limit between %v and %v, want the %v limit bracketed to 20%%", survived, failed, limit)
	}
	if k := time.Duration(r.Recommend.Keepalive); k <= 0 || k >= limit {
		t.Errorf("recommended keepalive %v: not inside the limit", k)
	}
	var text, js bytes.Buffer
	r.WriteText(&text)
	if !strings.Contains(text.String(), "control idle limit:   between") {
		t.Errorf("text report:\n%s", text.String())
	}
	r.WriteJSON(&js)
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back["idle"] == nil {
		t.Errorf("JSON report %s: %v", js.String(), err)
	}
	t.Logf("\n%s", text.String())
}

// The doctor tries AUTH TLS and says whether the certificate verifies.
func TestDoctorChecksTLS(t *testing.T) {
	t.Parallel()
	cert, _, err := testserver.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	srv := ftptest.StartServer(t, testserver.Options{TLS: cert})
	o := quick
	o.ProbeSize, o.ProbeTime = 64<<10, 200*time.Millisecond
	r, err := Run(t.Context(), "ftp://"+srv.Addr()+"/", o)
	if err != nil {
		t.Fatal(err)
	}
	if !r.TLS || !strings.Contains(r.TLSCheck, "failed") || !strings.Contains(r.TLSCheck, "certificate") {
		t.Errorf("untrusted certificate: TLS %v, check %q", r.TLS, r.TLSCheck)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificates[0].Leaf.Raw}), 0o644)
	o.TLS = keepftp.TLSOptions{CAFile: caFile}
	r, err = Run(t.Context(), "ftp://"+srv.Addr()+"/", o)
	if err != nil {
		t.Fatal(err)
	}
	if r.TLSCheck != "AUTH TLS works, certificate verified" {
		t.Errorf("trusted certificate: check %q", r.TLSCheck)
	}
}
