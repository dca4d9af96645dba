package control

import (
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// TestEarlyDataTLS: a data connection's TLS handshake starts right after
// the transfer command, so its ClientHello reaches the server with the
// command. A server that resets such a connection (pyftpdlib when loaded;
// the Fake's ResetEarlyTLS) fails the transfer, and EarlyDataTLS says so
// for the policy to remember; with Config.LateDataTLS the handshake waits
// for the 150 and the same server sends the file. A server that takes
// the early ClientHello shows EarlyDataTLS working.
func TestEarlyDataTLS(t *testing.T) {
	t.Parallel()
	serverTLS, roots, err := testserver.SelfSignedTLS("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certTime := time.Now() // the bubble's clock starts in 2000
	serverTLS.Time = func() time.Time { return certTime }
	for _, tc := range []struct {
		name              string
		reset, late       bool
		sent              bool // the file came
		works, known      bool // EarlyDataTLS after the transfer
		wantErrorContains string
	}{
		{name: "server takes it", sent: true, works: true, known: true},
		{name: "server resets it", reset: true, known: true, wantErrorContains: "TLS"},
		{name: "server resets it, late handshake", reset: true, late: true, sent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vnet := ftptest.NewNet(t, 100*time.Millisecond)
				f := ftptest.StartFakeOn(t, vnet)
				f.TLS = serverTLS
				f.ResetEarlyTLS = tc.reset
				payload := []byte("fourteen bytes")
				f.WriteFile("/f", payload, time.Unix(1e9, 0))
				cfg := Config{Timeout: 10 * time.Second, DialContext: vnet.Dial, TLSMode: TLSExplicit, LateDataTLS: tc.late,
					TLS: &tls.Config{RootCAs: roots, Time: func() time.Time { return certTime }}}
				c, err := Dial(t.Context(), f.Addr(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				tr, err := c.StartTransfer(t.Context(), "RETR", "/f", 0)
				switch {
				case err == nil && tc.sent:
					got, rerr := io.ReadAll(tr.Data)
					if rerr != nil || string(got) != string(payload) {
						t.Fatalf("read %q, %v; want %q", got, rerr, payload)
					}
					tr.Data.Close()
					if _, err := tr.End(t.Context(), false); err != nil {
						t.Fatal(err)
					}
				case err != nil && !tc.sent:
					if !strings.Contains(err.Error(), tc.wantErrorContains) {
						t.Fatalf("RETR failed with %v, want an error with %q", err, tc.wantErrorContains)
					}
				default:
					t.Fatalf("RETR: %v, want the file sent: %v", err, tc.sent)
				}
				if works, known := c.EarlyDataTLS(); works != tc.works || known != tc.known {
					t.Errorf("EarlyDataTLS() = %v, %v; want %v, %v", works, known, tc.works, tc.known)
				}
			})
		})
	}
}
