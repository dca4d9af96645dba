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

// main is the process around run: its arguments, streams and environment,
// and its signals, which cancel run's context.
func main() {
	stopProfile := startCPUProfile(os.Stderr) // the process's, not a run's
	ctx, cancel := context.WithCancel(context.Background())
	onInterrupt(ctx, cancel, os.Stderr)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	cancel()
	stopProfile()
	os.Exit(code)
}

// interruptGrace is how long a command has, after SIGINT or SIGTERM, to
// stop by itself (close the data connection, ABOR, save the partial file's
// state) before the process ends anyway. Whatever is on disk by then is
// kept: the next run resumes from it, as after a kill.
const interruptGrace = 1500 * time.Millisecond

// run is keepftp with args (args[0] is the program's name) and the
// process's environment; see runEnv.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(ctx, os.LookupEnv, args, stdin, stdout, stderr)
}

// runEnv runs one command line and returns its exit code. It reads and
// writes only what it is given: the streams, and the environment through
// lookupEnv (KEEPFTP_PASSWORD, HOME for ~/.netrc, XDG_CACHE_HOME for the
// profiles); so the tests run it in their own process, many at once. The
// end of ctx is an interrupt (main cancels it at SIGINT or SIGTERM): the
// command stops, keeps what it has, and run returns ExitInterrupted.
// Every password the run learns is masked in all it writes.
func runEnv(ctx context.Context, lookupEnv func(string) (string, bool), args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	sec := &secrets{}
	out, errOut := maskWriter{stdout, sec}, maskWriter{stderr, sec}
	app := newApp(out, errOut)
	app.Reader = stdin
	app.Metadata = map[string]any{envKey: lookupEnv, secretsKey: sec}
	args, err := normalizeArgs(app, versionAlias(args))
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if ctx.Err() != nil { // whatever the command made of it (doctor's report of cancelled probes)
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
		// urfave/cli would give each command its help subcommand
		// ("keepftp get help"): one Command shared by every App, which
		// running a command writes to; normalizeArgs reads that line as
		// get --help instead.
		c.HideHelpCommand = true
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
// can keep keepftp from ending.
func onInterrupt(ctx context.Context, cancel context.CancelFunc, stderr io.Writer) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sigs)
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		cancel()
		t := time.NewTimer(interruptGrace)
		select {
		case <-sigs:
		case <-t.C:
		}
		fmt.Fprintln(stderr, "keepftp: interrupted")
		os.Exit(ExitInterrupted)
	}()
}
