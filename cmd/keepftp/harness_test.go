package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// The end-to-end tests run keepftp the way a user does, from the command
// line to its exit code, in two ways:
//
//   - in this process (runKeepftp, startKeepftp): run with the test's own
//     streams and environment, many at once; an interrupt is the end of
//     run's context, which is all SIGINT and SIGTERM do (main);
//   - as a process of its own (keepftpBinary), only where the process is
//     what is tested: signals and their exit status, SIGKILL, a terminal
//     (tmux), a shell's completion. The binary is this test binary under
//     the name keepftp: TestMain runs main when it is started so, so
//     nothing is built and it runs under the race detector when the
//     tests do.

// runTimeout bounds one in-process run: a hang ends it as an interrupt
// would, and the test fails.
const runTimeout = 2 * time.Minute

// syncBuffer is a bytes.Buffer safe for the writes of a run's goroutines
// (log lines, events, bars) and reads by the test while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) Bytes() []byte { return []byte(b.String()) }

// testEnv is the environment of an in-process run: the process's, with
// env ("NAME=value") over it.
func testEnv(env []string) func(string) (string, bool) {
	over := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		over[k] = v
	}
	return func(k string) (string, bool) {
		if v, ok := over[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
}

// testCaches holds each test's cache folder (*testing.T to its path).
var testCaches sync.Map

// withTestCache gives a run that names neither XDG_CACHE_HOME nor HOME
// the test's own cache folder (server profiles), the same for every run
// of the test. Without it, runs fell back to the process's cache, shared
// by every test of the process (ftptest.Main's temporary folder): a
// profile learned from one test's server taught another test's server on
// the same port (a mirror sent PASV to a server that refuses it, in a
// loaded -count=5 run).
func withTestCache(t *testing.T, env []string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "XDG_CACHE_HOME=") || strings.HasPrefix(kv, "HOME=") {
			return env
		}
	}
	dir, ok := testCaches.Load(t)
	if !ok {
		dir = t.TempDir()
		testCaches.Store(t, dir)
		t.Cleanup(func() { testCaches.Delete(t) })
	}
	return append(env[:len(env):len(env)], "XDG_CACHE_HOME="+dir.(string))
}

// inproc is a keepftp run in this process.
type inproc struct {
	t              *testing.T
	args           []string
	Stdout, Stderr *syncBuffer // the same buffer when combined
	interrupt      context.CancelFunc
	done           chan struct{}
	code           int
	timedOut       func() bool
}

// startKeepftp starts keepftp args in this process, with env over the
// process's environment and an empty standard input. combined sends
// stdout and stderr to one buffer, in the order written.
func startKeepftp(t *testing.T, env []string, combined bool, args ...string) *inproc {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	r := &inproc{t: t, args: args, Stdout: &syncBuffer{}, interrupt: cancel, done: make(chan struct{})}
	r.Stderr = &syncBuffer{}
	if combined {
		r.Stderr = r.Stdout
	}
	r.timedOut = func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
	env = withTestCache(t, env)
	go func() {
		defer close(r.done)
		defer cancel()
		r.code = runEnv(ctx, testEnv(env), append([]string{"keepftp"}, args...), strings.NewReader(""), r.Stdout, r.Stderr)
	}()
	return r
}

// Wait waits for the run's end and returns its exit code.
func (r *inproc) Wait() int {
	r.t.Helper()
	<-r.done
	if r.timedOut() {
		r.t.Fatalf("keepftp %q still running after %v\n%s", r.args, runTimeout, r.Stderr.String())
	}
	return r.code
}

// Interrupt is SIGINT or SIGTERM: it cancels the run's context and
// returns how long the run took to end (the exit code is Wait's).
func (r *inproc) Interrupt() time.Duration {
	r.t.Helper()
	select {
	case <-r.done:
		r.t.Fatalf("keepftp %q ended before the interrupt: exit %d\n%s", r.args, r.code, r.Stderr.String())
	default:
	}
	start := time.Now()
	r.interrupt()
	<-r.done
	return time.Since(start)
}

// Done is closed when the run has ended.
func (r *inproc) Done() <-chan struct{} { return r.done }

// runKeepftp runs keepftp args in this process, with env ("NAME=value")
// over the process's environment, and returns its exit code, stdout and
// stderr.
func runKeepftp(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	r := startKeepftp(t, env, false, args...)
	code := r.Wait()
	return code, r.Stdout.String(), r.Stderr.String()
}

// runCombined runs keepftp args in this process and returns its exit code
// and its stdout and stderr as one text, as a terminal shows them.
func runCombined(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r := startKeepftp(t, nil, true, args...)
	code := r.Wait()
	return code, r.Stdout.String()
}

// runOnPipe runs keepftp args in this process with stdout and stderr on
// one pipe (an *os.File that is no terminal, as in a script), and returns
// its exit code and what came through the pipe.
func runOnPipe(t *testing.T, args ...string) (int, string) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(pr)
		pr.Close()
		read <- b
	}()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	code := runEnv(ctx, testEnv(nil), append([]string{"keepftp"}, args...), strings.NewReader(""), pw, pw)
	pw.Close()
	out := <-read
	if ctx.Err() != nil {
		t.Fatalf("keepftp %q still running after %v\n%s", args, runTimeout, out)
	}
	return code, string(out)
}

// keepftpIn runs keepftp in this process with its own cache directory
// (XDG_CACHE_HOME) and HOME, and returns stdout, stderr and the exit code.
func keepftpIn(t *testing.T, cache string, args ...string) (string, string, int) {
	t.Helper()
	code, stdout, stderr := runKeepftp(t, []string{"XDG_CACHE_HOME=" + cache, "HOME=" + filepath.Dir(cache)}, args...)
	return stdout, stderr, code
}

// commandName is the name under which this test binary is keepftp.
const commandName = "keepftp"

var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// keepftpBinary returns a program named keepftp that is this test binary:
// started under that name, it runs main (TestMain). For the tests of the
// process itself: signals, exit status, a terminal, shell completion.
func keepftpBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		self, err := os.Executable()
		if err != nil {
			binary.err = err
			return
		}
		if binary.dir, binary.err = os.MkdirTemp("", "keepftp-bin"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, commandName)
		binary.err = os.Symlink(self, binary.path)
	})
	if binary.err != nil {
		t.Fatalf("keepftp binary: %v", binary.err)
	}
	return binary.path
}

// exitCodeOf returns the exit code of a finished process's Wait or Run
// error: 0 for nil; it fails the test if the process did not start or
// was not waited for.
func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("keepftp: %v", err)
	return -1
}

// TestMain runs main when this binary is started as keepftp
// (keepftpBinary); otherwise it runs the tests, keeping the server
// profiles they learn out of the user's cache, and has the race detector
// of the keepftp processes they start end them at once (by default it
// sleeps a second before each exit).
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == commandName {
		main()
		return
	}
	os.Setenv("GORACE", "atexit_sleep_ms=0 "+os.Getenv("GORACE"))
	code := ftptest.Main(m)
	for _, p := range []string{binary.path, built.path} {
		if p != "" {
			os.RemoveAll(filepath.Dir(p))
		}
	}
	os.Exit(code)
}

var built struct {
	once sync.Once
	path string
	err  error
}

// builtBinary returns keepftp built by go build with its VCS stamp (a test
// binary has none), with the race detector when the tests have it, so that
// the build reuses their compiled packages. For the tests of what the
// build stamps: keepftp version's revision.
func builtBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "keepftp-built")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, commandName)
		args := []string{"build", "-buildvcs=true", "-o", built.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}
