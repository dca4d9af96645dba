package main

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/testserver"
	"github.com/urfave/cli/v2"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "show keepalive at work: download through a NAT-like middlebox that drops silent control flows",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "mib", Value: 64, Usage: "file size in MiB"},
			&cli.StringFlag{Name: "rate", Value: "8M", Usage: "server's send rate"},
			&cli.DurationFlag{Name: "idle", Value: 3 * time.Second, Usage: "the middlebox forgets a control flow silent this long"},
			&cli.DurationFlag{Name: "timeout", Value: 6 * time.Second, Usage: "keepftp's liveness timeout (keepalive at a quarter)"},
		},
		Action: demoAction,
	}
}

func demoAction(c *cli.Context) error {
	w := c.App.Writer
	rate, err := parseRate(c.String("rate"))
	if err != nil {
		return usageError{err.Error()}
	}
	idle, timeout := c.Duration("idle"), c.Duration("timeout")
	payload := make([]byte, c.Int("mib")<<20)
	rand.Read(payload)
	want := sha256.Sum256(payload)

	srv, err := testserver.Start(testserver.Options{Faults: testserver.Faults{RateLimit: rate}})
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.WriteFile("/big.bin", payload); err != nil {
		return err
	}
	mb, err := testserver.NewMiddlebox(testserver.MiddleboxOptions{Target: srv.Addr(), IdleTimeout: idle, Mode: testserver.ExpireBlackhole})
	if err != nil {
		return err
	}
	defer mb.Close()
	dir, err := os.MkdirTemp("", "keepftp-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	url := "ftp://" + mb.Addr() + "/big.bin"
	fmt.Fprintf(w, "server %s, behind a middlebox at %s that silently drops a control flow idle for %v\n", srv.Addr(), mb.Addr(), idle)
	fmt.Fprintf(w, "file: %d MiB sent at %s/s, about %.0fs of transfer with a silent control connection\n\n",
		c.Int("mib"), c.String("rate"), float64(len(payload))/float64(rate))

	failed := false
	for i, run := range []struct {
		label     string
		keepalive bool
		retries   int
	}{
		{fmt.Sprintf("keepalive on (NOOP every %v)", keepftp.KeepaliveInterval(timeout)), true, 0},
		{"keepalive off, one attempt", false, 0},
		{"keepalive off, with resume", false, 3},
	} {
		o := keepftp.Options{Timeout: timeout, NoKeepalive: !run.keepalive, Parallel: 1, NoProfile: true,
			Retry: keepftp.RetryPolicy{Retries: run.retries, MaxAttempts: run.retries + 1, BaseDelay: 500 * time.Millisecond}}
		dst := filepath.Join(dir, fmt.Sprintf("big-%d.bin", i))
		client := keepftp.NewClient(o) // a fresh one per run: nothing learned carries over
		start := time.Now()
		out, err := client.Get(c.Context, url, dst)
		client.Close()
		took := time.Since(start).Round(100 * time.Millisecond)
		switch {
		case c.Context.Err() != nil:
			return c.Context.Err()
		case err == nil && (run.keepalive || run.retries > 0):
			got, herr := fileSHA256(dst)
			if herr != nil || got != want {
				failed = true
				fmt.Fprintf(w, "%-34s FAILED: sha256 mismatch (%v)\n", run.label, herr)
				continue
			}
			fmt.Fprintf(w, "%-34s %s in %v after %d attempt(s), sha256 %x... matches\n", run.label, out.Status, took, out.Attempts, want[:8])
		case !run.keepalive && run.retries == 0 && errors.Is(err, keepftp.ErrPeerDown):
			fmt.Fprintf(w, "%-34s failed as expected after %v: %v\n", run.label, took, err)
		default:
			failed = true
			fmt.Fprintf(w, "%-34s UNEXPECTED after %v: %v\n", run.label, took, err)
		}
	}
	st := mb.Stats()
	fmt.Fprintf(w, "\nmiddlebox: %d control flows, %d expired while silent\n", st.Sessions, st.Expired)
	if failed {
		return errors.New("demo: an outcome was not the expected one")
	}
	return nil
}

func fileSHA256(name string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(name)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}
