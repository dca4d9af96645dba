// Command keepftp is an FTP client that never loses a long transfer: it
// keeps the control connection alive with NOOPs while data flows, finds a
// dead peer in bounded time, and says clearly what happened.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// interruptGrace is how long a command has, after SIGINT or SIGTERM, to
// stop by itself (close the data connection, ABOR, save the partial file's
// state) before the process ends anyway. Whatever is on disk by then is
// kept: the next run resumes from it, as after a kill.
const interruptGrace = 1500 * time.Millisecond

func run(args []string, stdout, stderr *os.File) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer startCPUProfile(stderr)()
	interrupted := onInterrupt(ctx, cancel, stderr)
	sec := &secrets{}
	out, errOut := maskWriter{stdout, sec}, maskWriter{stderr, sec}
	app := newApp(out, errOut)
	app.Metadata = map[string]any{secretsKey: sec}
	args, err := normalizeArgs(app, versionAlias(args))
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if interrupted() { // whatever the command made of it (doctor's report of cancelled probes)
		fmt.Fprintln(stderr, "keepftp: interrupted")
		return ExitInterrupted
	}
	if err == nil {
		return ExitOK
	}
	code := exitCode(ctx, err)
	fmt.Fprintf(errOut, "keepftp: %s\n", safeText(err.Error()))
	return code
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                 "keepftp",
		Usage:                "an FTP client that never loses a long transfer",
		Description:          exitCodesHelp,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		Commands:             []*cli.Command{getCommand(), putCommand(), lsCommand(), mirrorCommand(), doctorCommand(), serveCommand(), demoCommand(), completionCommand(), manCommand(), versionCommand()},
		Flags:                []cli.Flag{versionFlag()},
		ExitErrHandler:       func(*cli.Context, error) {}, // exit codes are decided in run
		OnUsageError:         onUsageError,
	}
	for _, c := range app.Commands {
		c.OnUsageError = onUsageError
		logVersionWhenVerbose(c)
	}
	return app
}

// onUsageError makes urfave/cli's own parse errors (normalizeArgs catches
// them first; this is the backstop) exit 2 without a page of help.
func onUsageError(_ *cli.Context, err error, _ bool) error {
	return usageError{err.Error()}
}

// onInterrupt cancels ctx on the first SIGINT or SIGTERM. The command then
// has interruptGrace to return; after that, or at a second signal, the
// process exits 130 on its own, so that no server, however it behaves,
// can keep keepftp from ending. The returned func reports whether a signal
// came.
func onInterrupt(ctx context.Context, cancel context.CancelFunc, stderr *os.File) func() bool {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	got := make(chan struct{})
	go func() {
		defer signal.Stop(sigs)
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		close(got)
		cancel()
		t := time.NewTimer(interruptGrace)
		select {
		case <-sigs:
		case <-t.C:
		}
		fmt.Fprintln(stderr, "keepftp: interrupted")
		os.Exit(ExitInterrupted)
	}()
	return func() bool {
		select {
		case <-got:
			return true
		default:
			return false
		}
	}
}
