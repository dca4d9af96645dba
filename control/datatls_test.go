package control

import (
	"crypto/tls"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// TestEarlyDataTLS: with Config.EarlyDataTLS a data connection's TLS
// handshake starts right after the transfer command, so its ClientHello
// reaches the server with the command. A server that resets such a
// connection (the Fake's ResetEarlyTLS: 150, then 522) fails that
// transfer as a failed data handshake, and EarlyDataTLS says so. By default the
// handshake waits for the 150 (one RETR, nothing tried early). A server
// that takes the early ClientHello shows EarlyDataTLS working.
func TestEarlyDataTLS(t *testing.T) {
	t.Parallel()
	serverTLS, roots, err := testserver.SelfSignedTLS("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certTime := time.Now() // the bubble's clock starts in 2000
	serverTLS.Time = func() time.Time { return certTime }
	for _, tc := range []struct {
		name         string
		reset, early bool
		sent         bool // the file came
		works, known bool // EarlyDataTLS after the transfer
	}{
		{name: "early, server takes it", early: true, sent: true, works: true, known: true},
		{name: "early, server resets it", early: true, reset: true, known: true},
		{name: "default, server resets early ones", reset: true, sent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vnet := ftptest.NewNet(t, 100*time.Millisecond)
				f := ftptest.StartFakeOn(t, vnet)
				f.TLS = serverTLS
				f.ResetEarlyTLS = tc.reset
				payload := []byte("fourteen bytes")
				f.WriteFile("/f", payload, time.Unix(1e9, 0))
				cfg := Config{Timeout: 10 * time.Second, DialContext: vnet.Dial, TLSMode: TLSExplicit, EarlyDataTLS: tc.early,
					TLS: &tls.Config{RootCAs: roots, Time: func() time.Time { return certTime }}}
				c, err := Dial(t.Context(), f.Addr(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
				if works, known := c.EarlyDataTLS(); works != tc.works || known != tc.known {
					t.Errorf("EarlyDataTLS() = %v, %v; want %v, %v", works, known, tc.works, tc.known)
				}
				if !tc.sent {
					var de *DataTLSError
					if !errors.As(err, &de) {
						t.Fatalf("RETR: %v, want a refused data handshake (DataTLSError)", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("RETR: %v", err)
				}
				got, err := io.ReadAll(tr.Data)
				if err != nil || string(got) != string(payload) {
					t.Fatalf("read %q, %v; want %q", got, err, payload)
				}
				tr.Data.Close()
				if rep := <-tr.Final(); rep.Code != 226 {
					t.Fatalf("final reply %d %s", rep.Code, rep.Msg)
				}
				if _, err := tr.End(t.Context(), true); err != nil {
					t.Fatal(err)
				}
				// The connection stays in step: a command after it is answered.
				if n, err := c.Size(t.Context(), "/f"); err != nil || n != int64(len(payload)) {
					t.Errorf("SIZE after the transfer: %d, %v", n, err)
				}
			})
		})
	}
}
