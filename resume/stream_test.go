package resume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/noop"
)

// streamOpts are the options of the stream tests: quick retries.
func streamOpts() Options {
	return Options{Timeout: 5 * time.Second, Policy: tightRetries, Noops: &noop.Registry{}}
}

// names lists a directory.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// readAll reads r to its end in the background: a FIFO or a pipe holds
// 64 KiB, so the reader must run while the download writes.
func readAll(r io.Reader) <-chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		ch <- b
	}()
	return ch
}

// A destination that exists and is not a regular file is written in
// place, in order: a character device (mknod 1:3, /dev/null's numbers, in
// a temporary folder), a FIFO, a socket, links to /proc/self/fd/N of a pipe
// and of a file opened for appending. It is never replaced, and nothing is
// left beside it: no .part, no state file.
func TestGetIntoNonRegularDestinations(t *testing.T) {
	t.Parallel()
	data := ftptest.RandomBytes(300 << 10) // more than a pipe holds
	f := ftptest.StartFake(t)
	f.WriteFile("/f", data, fileTime)
	get := func(t *testing.T, dst string) Outcome {
		t.Helper()
		out, err := Get(t.Context(), target(t, f.Addr(), "/f"), dst, streamOpts())
		if err != nil || out.Size != int64(len(data)) || out.Status != "complete" {
			t.Fatalf("Get(%s) = %+v, %v; want %d bytes, complete", dst, out, err, len(data))
		}
		return out
	}
	t.Run("character device", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		null := filepath.Join(dir, "null")
		mknodNull(t, null)
		get(t, null)
		if !isNullDevice(null) {
			t.Errorf("%s is no longer the character device 1:3", null)
		}
		if n := names(t, dir); !slices.Equal(n, []string{"null"}) {
			t.Errorf("the folder holds %q, want the device alone", n)
		}
	})
	t.Run("FIFO", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		fifo := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte, 1)
		go func() {
			r, err := os.Open(fifo) // waits for the writer
			if err != nil {
				got <- nil
				return
			}
			defer r.Close()
			got <- <-readAll(r)
		}()
		get(t, fifo)
		if st, err := os.Lstat(fifo); err != nil || st.Mode().Type() != os.ModeNamedPipe {
			t.Fatalf("%s is no longer a FIFO: %v, %v", fifo, st.Mode(), err) // and its reader waits for ever
		}
		if b := <-got; !bytes.Equal(b, data) {
			t.Errorf("the FIFO's reader got %d bytes, want the file's %d", len(b), len(data))
		}
		if n := names(t, dir); !slices.Equal(n, []string{"fifo"}) {
			t.Errorf("the folder holds %q, want the FIFO alone", n)
		}
	})
	t.Run("socket", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		sock := filepath.Join(dir, "sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		got := make(chan []byte, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				got <- nil
				return
			}
			defer c.Close()
			got <- <-readAll(c)
		}()
		get(t, sock)
		if st, err := os.Lstat(sock); err != nil || st.Mode().Type() != os.ModeSocket {
			t.Fatalf("%s is no longer a socket: %v, %v", sock, st.Mode(), err)
		}
		if b := <-got; !bytes.Equal(b, data) {
			t.Errorf("the socket's reader got %d bytes, want %d", len(b), len(data))
		}
	})
	t.Run("link to /proc/self/fd of a pipe", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		link := filepath.Join(dir, "out")
		procLink(t, link, w)
		got := readAll(r)
		get(t, link)
		w.Close() // the last write end: the reader sees the end
		if b := <-got; !bytes.Equal(b, data) {
			t.Errorf("the pipe's reader got %d bytes, want %d", len(b), len(data))
		}
		if st, err := os.Lstat(link); err != nil || st.Mode().Type() != os.ModeSymlink {
			t.Errorf("%s is no longer a link: %v, %v", link, st.Mode(), err)
		}
		if n := names(t, dir); !slices.Equal(n, []string{"out"}) {
			t.Errorf("the folder holds %q, want the link alone", n)
		}
	})
	t.Run("link to /proc/self/fd of a file opened for appending", func(t *testing.T) {
		t.Parallel()
		// A shell's >> out: what the descriptor holds stays, the data
		// goes after it, and out is the same file, not a new one.
		dir := t.TempDir()
		name := filepath.Join(dir, "log")
		w, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		w.WriteString("before\n")
		was, _ := os.Stat(name)
		link := filepath.Join(dir, "stdout")
		procLink(t, link, w)
		get(t, link)
		w.WriteString("after\n")
		if b, _ := os.ReadFile(name); !bytes.Equal(b, slices.Concat([]byte("before\n"), data, []byte("after\n"))) {
			t.Errorf("%s holds %d bytes, want the data between the lines written before and after", name, len(b))
		}
		if now, err := os.Stat(name); err != nil || !os.SameFile(was, now) {
			t.Errorf("%s was replaced", name)
		}
	})
}

// -o LINK, LINK a symbolic link to a regular file in another folder: the
// file it leads to is written, with its .part beside it (a cut leaves it
// there, and the next run resumes it), and the link stays a link.
func TestGetThroughALinkToAFile(t *testing.T) {
	t.Parallel()
	data := ftptest.RandomBytes(100 << 10)
	const cut = 60 << 10
	f := ftptest.StartFake(t)
	f.WriteFile("/f", data, fileTime)
	var cutDone atomic.Bool
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		if verb == "RETR" && !cutDone.Swap(true) {
			s.SendDataThen(data[:cut], "426 cut")
			return true
		}
		return false
	}
	here, there := t.TempDir(), t.TempDir()
	file := filepath.Join(there, "file")
	if err := os.WriteFile(file, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(here, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	o := streamOpts()
	o.Policy.MaxAttempts = 1
	if _, err := Get(t.Context(), target(t, f.Addr(), "/f"), link, o); err == nil {
		t.Fatal("the cut attempt succeeded")
	}
	if n := names(t, here); !slices.Equal(n, []string{"link"}) {
		t.Errorf("beside the link: %q, want the link alone", n)
	}
	if st, err := os.Stat(file + DefaultPartSuffix); err != nil || st.Size() != cut {
		t.Fatalf("no %d-byte partial file beside the target: %v", cut, err)
	}
	out, err := Get(t.Context(), target(t, f.Addr(), "/f"), link, streamOpts())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkFile(t, file, data)
	if out.Received >= int64(len(data)) {
		t.Errorf("received %d bytes: the partial beside the target was not resumed", out.Received)
	}
	if to, err := os.Readlink(link); err != nil || to != file {
		t.Errorf("the link now leads to %q, %v; want %s", to, err, file)
	}
	if st, _ := os.Stat(file); !st.ModTime().Equal(fileTime) {
		t.Errorf("the target's time is %v, want the server's %v", st.ModTime(), fileTime)
	}
}

// A cut stream is continued only where the continuation is shown: the
// retry starts a little before the bytes written, and the server's data
// must repeat them. A server that then ignores REST, refuses it, or a file
// that changed, ends the download with ErrStreamResume, and no byte that
// does not follow goes into the stream. Before any byte went in, a retry
// starts afresh.
func TestGetStreamRetries(t *testing.T) {
	t.Parallel()
	data := ftptest.RandomBytes(100 << 10)
	const cut = 60 << 10
	for _, c := range []struct {
		name   string
		second func(s *ftptest.FakeSession, verb, arg string) bool // after the cut
		want   string                                              // in the error; "" for success
		got    []byte                                              // what the stream must hold
	}{
		{name: "a cut is continued", got: data},
		{name: "the server ignores REST", want: "does not repeat the bytes written",
			second: func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == "RETR" {
					s.Rest = 0
					s.SendData(data, "")
					return true
				}
				return false
			}},
		{name: "the server refuses REST", want: "the server refused REST",
			second: func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == "REST" {
					s.Reply("502 no REST here")
					return true
				}
				return false
			}},
		{name: "the file changed", want: "the remote file changed",
			second: func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == "MDTM" {
					s.Reply("213 20250101000000")
					return true
				}
				return false
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := ftptest.StartFake(t)
			f.WriteFile("/f", data, fileTime)
			// The sessions follow one another; the lock orders them for
			// the race detector, which sees no order through the sockets.
			var mu sync.Mutex
			cutDone := false
			var rests []int64
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				mu.Lock()
				defer mu.Unlock()
				if verb == "RETR" {
					rests = append(rests, s.Rest)
				}
				if !cutDone {
					if verb == "RETR" {
						cutDone = true
						s.Rest = 0
						s.SendDataThen(data[:cut], "426 cut")
						return true
					}
					return false
				}
				return c.second != nil && c.second(s, verb, arg)
			}
			var buf bytes.Buffer
			out, err := getStream(t.Context(), target(t, f.Addr(), "/f"), &buf, streamOpts())
			mu.Lock()
			defer mu.Unlock()
			if c.want == "" {
				if err != nil || !bytes.Equal(buf.Bytes(), data) || out.Verified != "size" {
					t.Fatalf("getStream = %+v, %v, %d bytes; want the file", out, err, buf.Len())
				}
				if !slices.Equal(rests, []int64{0, cut - overlapSize}) {
					t.Errorf("RETRs at %v, want 0 then %d (the overlap before the cut)", rests, cut-overlapSize)
				}
				return
			}
			if !errors.Is(err, ErrStreamResume) || !strings.Contains(err.Error(), c.want) || Classify(err) != Verify {
				t.Fatalf("err = %v (%v), want ErrStreamResume saying %q, class verify", err, Classify(err), c.want)
			}
			if !bytes.Equal(buf.Bytes(), data[:cut]) {
				t.Errorf("the stream holds %d bytes, want the %d before the cut and nothing else", buf.Len(), cut)
			}
			if out.Attempts != 2 {
				t.Errorf("%d attempts, want 2: a stream that cannot go on is not retried", out.Attempts)
			}
		})
	}
	t.Run("nothing written yet", func(t *testing.T) {
		t.Parallel()
		f := ftptest.StartFake(t)
		f.WriteFile("/f", data, fileTime)
		var failed atomic.Bool
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "RETR" && !failed.Swap(true) {
				s.SendDataThen(nil, "426 cut before any byte")
				return true
			}
			return false
		}
		var buf bytes.Buffer
		if _, err := getStream(t.Context(), target(t, f.Addr(), "/f"), &buf, streamOpts()); err != nil || !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("getStream: %v, %d bytes; want a fresh start and the file", err, buf.Len())
		}
	})
}

// A FIFO nobody reads: the open waits for a reader, and a cancel ends the
// wait at once, before anything connects.
func TestGetIntoUnreadFIFOIsCancellable(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.WriteFile("/f", []byte("data"), fileTime)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Get(ctx, target(t, f.Addr(), "/f"), fifo, streamOpts())
	if !errors.Is(err, context.Canceled) || Classify(err) != Intentional {
		t.Fatalf("err = %v, want the cancel", err)
	}
	if n := f.Count("USER"); n != 0 {
		t.Errorf("%d logins: nothing should connect before the FIFO has a reader", n)
	}
}

// put reads its sources and never waits on one that is not a regular
// file: a FIFO with no writer is refused at once, and left as it is.
func TestPutRefusesAFIFOSource(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Put(t.Context(), fifo, target(t, f.Addr(), "/up"), streamOpts())
	if Classify(err) != Local || !strings.Contains(fmt.Sprint(err), "a FIFO") {
		t.Fatalf("err = %v, want a local error naming the FIFO", err)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode().Type() != os.ModeNamedPipe {
		t.Errorf("the FIFO is gone or changed: %v", err)
	}
}
