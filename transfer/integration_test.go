package transfer

import (
	"bytes"
	"crypto/sha256"
	"github.com/keepftp/keepftp/internal/ftptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/testserver"
)

func dialTCP(t *testing.T, addr string, timeout time.Duration) *control.Conn {
	t.Helper()
	c, err := control.Dial(t.Context(), addr, control.Config{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A server that aborts transfers in answer to NOOPs: after two aborts in a
// row, NOOPs stop for that server and the next download completes.
func TestServerThatAbortsOnNoopLosesNoops(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Noop: testserver.NoopAborts, Faults: testserver.Faults{RateLimit: 256 << 10}})
	payload := ftptest.RandomBytes(256 << 10) // 1 s at the rate
	srv.WriteFile("/f", payload)
	reg := &noop.Registry{}
	opts := Options{Timeout: 5 * time.Second, Keepalive: 200 * time.Millisecond, Noops: reg}
	for i := 0; i < 2; i++ {
		c := dialTCP(t, srv.Addr(), 5*time.Second)
		_, err := Download(t.Context(), c, "/f", 0, int64(len(payload)), new(bytes.Buffer), opts)
		if !control.IsCode(err, 426) {
			t.Fatalf("attempt %d: err = %v, want the server's 426 abort", i, err)
		}
	}
	server := "" // the registry keys servers by address
	{
		c := dialTCP(t, srv.Addr(), 5*time.Second)
		server = c.RemoteAddr().String()
		if reg.InTransfer(server) {
			t.Fatal("NOOPs still allowed during transfers after two aborts")
		}
		noopsBefore := srv.Stats().Noops
		var buf bytes.Buffer
		res, err := Download(t.Context(), c, "/f", 0, int64(len(payload)), &buf, opts)
		if err != nil || !bytes.Equal(buf.Bytes(), payload) {
			t.Fatalf("download without NOOPs: %v (res %+v)", err, res)
		}
		if n := srv.Stats().Noops - noopsBefore; n != 0 || res.NoopsSent != 0 {
			t.Errorf("%d NOOPs sent to a server that aborts on NOOP", n)
		}
	}
	if reg.Behaviour(server) != noop.Aborts {
		t.Errorf("behaviour = %v", reg.Behaviour(server))
	}
}

// The registry learns how each style of server answers NOOPs.
func TestRegistryLearnsFromRealTransfers(t *testing.T) {
	t.Parallel()
	for style, want := range map[testserver.NoopStyle]noop.Behaviour{
		testserver.NoopAfterTransfer: noop.AfterFinal,
		testserver.NoopImmediate200:  noop.AtOnce,
		testserver.NoopImmediate500:  noop.WithError,
		testserver.NoopNever:         noop.Lost,
	} {
		t.Run(style.String(), func(t *testing.T) {
			t.Parallel()
			srv := ftptest.StartServer(t, testserver.Options{Noop: style, Faults: testserver.Faults{RateLimit: 512 << 10}})
			payload := ftptest.RandomBytes(256 << 10) // 0.5 s
			srv.WriteFile("/f", payload)
			reg := &noop.Registry{}
			c := dialTCP(t, srv.Addr(), 5*time.Second)
			var buf bytes.Buffer
			res, err := Download(t.Context(), c, "/f", 0, int64(len(payload)), &buf, Options{Keepalive: 100 * time.Millisecond, Noops: reg})
			if err != nil || !bytes.Equal(buf.Bytes(), payload) {
				t.Fatalf("err = %v, res %+v", err, res)
			}
			if res.NoopsSent < 2 {
				t.Fatalf("only %d NOOPs sent", res.NoopsSent)
			}
			if got := reg.Behaviour(c.RemoteAddr().String()); got != want {
				t.Errorf("learned %v, want %v", got, want)
			}
			// The connection is in sync: the next command gets its own reply.
			if n, err := c.Size(t.Context(), "/f"); err != nil || n != int64(len(payload)) {
				t.Errorf("SIZE after the transfer: %d, %v", n, err)
			}
		})
	}
}

// Zero-copy path: a download into an *os.File, then an upload from one.
func TestFileDownloadAndUpload(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	payload := ftptest.RandomBytes(32 << 20)
	srv.WriteFile("/big", payload)
	c := dialTCP(t, srv.Addr(), 5*time.Second)
	name := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Download(t.Context(), c, "/big", 0, int64(len(payload)), f, Options{})
	f.Close()
	if err != nil {
		t.Fatalf("download: %v (%+v)", err, res)
	}
	got, _ := os.ReadFile(name)
	if sha256.Sum256(got) != sha256.Sum256(payload) {
		t.Fatal("downloaded file differs")
	}

	f, _ = os.Open(name)
	defer f.Close()
	res, err = Upload(t.Context(), c, "/copy", 0, f, int64(len(payload)), Options{})
	if err != nil {
		t.Fatalf("upload: %v (%+v)", err, res)
	}
	var back bytes.Buffer
	if _, err := Download(t.Context(), c, "/copy", 0, int64(len(payload)), &back, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), payload) {
		t.Fatal("uploaded file differs")
	}
}

// A resumed download with REST gets exactly the rest of the file.
func TestDownloadWithOffset(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	payload := ftptest.RandomBytes(1 << 20)
	srv.WriteFile("/f", payload)
	c := dialTCP(t, srv.Addr(), 5*time.Second)
	var buf bytes.Buffer
	const off = 300000
	if _, err := Download(t.Context(), c, "/f", off, int64(len(payload))-off, &buf, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), payload[off:]) {
		t.Fatal("REST download differs from the file's tail")
	}
}

// A data cut by the server ends the attempt with a transient failure and a
// byte count that says how far it got.
func TestDataCutIsFailure(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Faults: testserver.Faults{CutAfter: []int64{100000}, RateLimit: 4 << 20}})
	payload := ftptest.RandomBytes(1 << 20)
	srv.WriteFile("/f", payload)
	c := dialTCP(t, srv.Addr(), 5*time.Second)
	var buf bytes.Buffer
	res, err := Download(t.Context(), c, "/f", 0, int64(len(payload)), &buf, Options{})
	if err == nil {
		t.Fatal("a cut download reported success")
	}
	if res.Bytes > 100000 || int64(buf.Len()) != res.Bytes || !bytes.Equal(buf.Bytes(), payload[:buf.Len()]) {
		t.Errorf("res = %+v, buffer %d bytes: must be a prefix of at most the cut", res, buf.Len())
	}
}
