package interop

import (
	"testing"
	"time"

	"github.com/keepftp/keepftp/doctor"
	"github.com/keepftp/keepftp/noop"
)

// TestDoctorOnRealServers: keepftp doctor reports for each server the NOOP
// behaviour recorded in docs/servers.md.
func TestDoctorOnRealServers(t *testing.T) {
	want := map[string][2]noop.Behaviour{ // during download, during upload
		"vsftpd":    {noop.AfterFinal, noop.AfterFinal},
		"proftpd":   {noop.AfterFinal, noop.AtOnce},
		"pure-ftpd": {noop.WithError, noop.WithError},
		"pyftpdlib": {noop.AtOnce, noop.AtOnce},
	}
	for _, name := range serverNames[:4] {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, name, false, 0)
			o := doctor.Options{Timeout: 5 * time.Second, ProbeSize: 1 << 20, ProbeTime: 1500 * time.Millisecond}
			r, err := doctor.Run(t.Context(), s.url(s.addr, s.uploadDir), o)
			if err != nil {
				t.Fatal(err)
			}
			w := want[name]
			if r.NoopDownload != w[0].String() || r.NoopUpload != w[1].String() {
				t.Errorf("download %q, upload %q; docs/servers.md says %q, %q (notes: %q)", r.NoopDownload, r.NoopUpload, w[0], w[1], r.Notes)
			}
			if name == "vsftpd" && r.MLSD {
				t.Error("vsftpd has no MLSD, the doctor says it has")
			}
			if name != "vsftpd" && !r.MLSD {
				t.Errorf("%s: MLSD not found (notes %q)", name, r.Notes)
			}
			t.Logf("%s: download %s, upload %s, MLSD %v, REST STREAM %v, hashes %v, EPSV %v PASV %v",
				name, r.NoopDownload, r.NoopUpload, r.MLSD, r.RestStream, r.Hashes, r.EPSV, r.PASV)
		})
	}
}
