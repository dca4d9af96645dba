package keepftp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// serveFiles is a scripted FTP server session over files that answers
// every RETR with a duplicate 226: the stray reply that used to shift
// every later reply on a pooled connection by one, and then ended the
// connection as out of step, failing the check after every transfer.
func serveFiles(fs *ftptest.Server, files map[string][]byte, mu *sync.Mutex, retrs *int) {
	fs.Send("220 dup226 server ready")
	var rest int64
	for {
		line, err := fs.TryReadCmd()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		var reply []string
		switch verb {
		case "USER":
			reply = []string{"331 password please"}
		case "PASS":
			reply = []string{"230 logged in"}
		case "FEAT":
			reply = []string{"211-Features:", " SIZE", " MDTM", " REST STREAM", "211 End"}
		case "TYPE", "NOOP", "OPTS":
			reply = []string{"200 ok"}
		case "PWD":
			reply = []string{`257 "/" is the current directory`}
		case "EPSV":
			reply = []string{fs.EPSVReply()}
		case "SIZE", "MDTM":
			data, ok := files[arg]
			switch {
			case !ok:
				reply = []string{"550 no such file"}
			case verb == "SIZE":
				reply = []string{"213 " + strconv.Itoa(len(data))}
			default:
				reply = []string{"213 20240102030405"}
			}
		case "REST":
			rest, _ = strconv.ParseInt(arg, 10, 64)
			reply = []string{"350 restarting"}
		case "RETR":
			data, ok := files[arg]
			d := <-fs.Data
			if !ok {
				d.Close()
				reply = []string{"550 no such file"}
				break
			}
			mu.Lock()
			*retrs++
			mu.Unlock()
			fs.TrySend("150 Opening BINARY mode data connection")
			d.Write(data[min(rest, int64(len(data))):])
			d.Close()
			rest = 0
			reply = []string{"226 Transfer complete", "226 Transfer complete"}
		case "QUIT":
			fs.TrySend("221 bye")
			return
		default:
			reply = []string{"502 not implemented"}
		}
		if fs.TrySend(reply...) != nil {
			return
		}
	}
}

// TestDuplicate226DoesNotLoseFiles: every RETR is answered with two 226s.
// Three files fetched over one pooled connection all arrive, are verified
// by size and reported done, each in one attempt: the repeated 226 is
// dropped, not taken as a reply out of step; none is fetched twice.
func TestDuplicate226DoesNotLoseFiles(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{}
	for i := range 3 {
		files[fmt.Sprintf("/f%d", i)] = ftptest.RandomBytes(100<<10 + i)
	}
	var mu sync.Mutex
	retrs := 0
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) { serveFiles(fs, files, &mu, &retrs) })
	var evMu sync.Mutex
	var events []Event
	c := NewClient(Options{Parallel: 1, Events: func(e Event) {
		evMu.Lock()
		events = append(events, e)
		evMu.Unlock()
	}, Timeout: 10 * time.Second,
		Retry: RetryPolicy{Retries: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxAttempts: 5}})
	defer c.Close()
	var jobs []Job
	for name := range files {
		jobs = append(jobs, Job{URL: "ftp://" + addr + name})
	}
	dir := t.TempDir()
	for _, r := range c.GetAll(t.Context(), jobs, dir) {
		if r.Err != nil {
			t.Errorf("%s: %v", r.URL, r.Err)
			continue
		}
		if r.Outcome.Verified != "size" || !strings.HasPrefix(r.Outcome.Status, "complete") || r.Outcome.Attempts != 1 {
			t.Errorf("%s: verified %q, status %q, %d attempts; want checked by size and complete in 1", r.URL, r.Outcome.Verified, r.Outcome.Status, r.Outcome.Attempts)
		}
		name := "/" + filepath.Base(r.Local)
		got, err := os.ReadFile(r.Local)
		if err != nil || !bytes.Equal(got, files[name]) {
			t.Errorf("%s: local file wrong (%d bytes, %v)", r.URL, len(got), err)
		}
	}
	evMu.Lock()
	defer evMu.Unlock()
	for _, e := range events {
		if e.Kind == EventRetry {
			t.Errorf("a retry: %+v", e)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if retrs != len(files) {
		t.Errorf("%d RETRs for %d files: a complete file was fetched again", retrs, len(files))
	}
}
