// Command keepftp is an FTP client that never loses a long transfer: it
// keeps the control connection alive with NOOPs while data flows, finds a
// dead peer in bounded time, and says clearly what happened.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr *os.File) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &cli.App{
		Name:                 "keepftp",
		Usage:                "an FTP client that never loses a long transfer",
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		Commands:             []*cli.Command{getCommand(), putCommand(), lsCommand(), mirrorCommand(), doctorCommand(), serveCommand(), demoCommand(), completionCommand()},
		ExitErrHandler:       func(*cli.Context, error) {}, // exit codes are decided below
	}
	err := app.RunContext(ctx, args)
	if err == nil {
		return ExitOK
	}
	code := exitCode(ctx, err)
	fmt.Fprintf(stderr, "keepftp: %v\n", err)
	return code
}
