package control

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// tlsPipe returns a TLS client and server over net.Pipe, handshaken.
func tlsPipe(t *testing.T) (client *tls.Conn, server *tls.Conn) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"x"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cp, sp := net.Pipe()
	server = tls.Server(sp, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	client = tls.Client(cp, &tls.Config{InsecureSkipVerify: true})
	done := make(chan error, 1)
	go func() { done <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return client, server
}

// A finished upload's Close sends close_notify (the server reads a clean
// EOF after all the data), then waits for the server's side to end, but
// no longer than the timeout: a server that neither closes nor speaks
// gets its socket closed one timeout later. A second Close (the
// transfer's End, after the final reply) ends the wait at once.
func TestTLSDataUploadCloseIsCleanAndBounded(t *testing.T) {
	t.Parallel()
	const timeout = 30 * time.Second
	for _, second := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			client, server := tlsPipe(t)
			d := newTLSData(client, timeout, true)
			payload := []byte("all of the upload")
			go func() {
				d.Write(payload)
				d.Close()
			}()
			got, err := io.ReadAll(server) // up to close_notify
			if err != nil || string(got) != string(payload) {
				t.Fatalf("server read %q, %v; want the data and a clean EOF (close_notify)", got, err)
			}
			start := time.Now()
			closed := make(chan time.Duration)
			go func() {
				// The server's side stays open and silent: its next read
				// ends when the client closes the socket.
				var b [1]byte
				_, err := server.NetConn().Read(b[:])
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
					t.Errorf("server's read after close_notify: %v", err)
				}
				closed <- time.Since(start)
			}()
			if second {
				time.Sleep(time.Second)
				d.Close() // End: the final reply is in
				if took := <-closed; took != time.Second {
					t.Errorf("second Close: the socket closed after %v, want at once (1s)", took)
				}
				return
			}
			if took := <-closed; took != timeout {
				t.Errorf("the client closed its socket after %v, want one timeout (%v)", took, timeout)
			}
		})
	}
}

// A download's Close, and an upload's whose write failed, close at once.
func TestTLSDataCloseAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		client, server := tlsPipe(t)
		d := newTLSData(client, time.Minute, false)
		go io.Copy(io.Discard, server) // reads the close_notify, then waits
		start := time.Now()
		d.Close()
		if took := time.Since(start); took != 0 {
			t.Errorf("download Close took %v", took)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		client, server := tlsPipe(t)
		d := newTLSData(client, time.Minute, true)
		server.NetConn().Close()
		if _, err := d.Write([]byte("x")); err == nil {
			t.Fatal("write to a closed peer succeeded")
		}
		start := time.Now()
		d.Close()
		if took := time.Since(start); took != 0 {
			t.Errorf("Close after a failed write took %v", took)
		}
	})
}
