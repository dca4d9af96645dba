package keepftp

import (
	"bytes"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestWholeTransferCheckedNotFetchedAgain: a server that gives no SIZE and
// no MDTM (its files are checked by hash) ends the control connection
// right after a complete transfer's 226, before the check. The next
// attempt makes the check again on a new connection and keeps the data:
// one RETR, the file's bytes once, verified by SHA-256. It fetched the
// whole file again from byte 0 at every attempt: with no size or time, a
// partial file cannot be shown unchanged.
func TestWholeTransferCheckedNotFetchedAgain(t *testing.T) {
	f := ftptest.StartFake(t)
	f.Hash = true
	data := ftptest.RandomBytes(3 << 20)
	f.WriteFile("/f", data, mtime)
	var sent atomic.Int64
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch verb {
		case "SIZE", "MDTM":
			s.Reply("502 not here")
		case "RETR":
			sent.Add(int64(len(data) - int(s.Rest)))
			s.SendDataThen(data[s.Rest:], "226 done")
			s.Rest = 0
			if f.Count("RETR") == 1 {
				s.Close() // before the check after the transfer
			}
		default:
			return false
		}
		return true
	}
	c := NewClient(Options{Timeout: 5 * time.Second,
		Retry: RetryPolicy{Retries: 3, MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}})
	defer c.Close()
	dst := filepath.Join(t.TempDir(), "f")
	out, err := c.Get(t.Context(), "ftp://"+f.Addr()+"/f", dst)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Errorf("local file: %d bytes, not the remote file", len(got))
	}
	if n := f.Count("RETR"); n != 1 || sent.Load() != int64(len(data)) || out.Received != int64(len(data)) {
		t.Errorf("%d RETRs, %d bytes sent, %d received; want the file's %d bytes once", n, sent.Load(), out.Received, len(data))
	}
	if out.Verified != "SHA-256" || out.Attempts != 2 {
		t.Errorf("verified %q in %d attempts; want SHA-256 in 2 (the check made again)", out.Verified, out.Attempts)
	}
}
