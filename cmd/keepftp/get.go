package main

import (
	"fmt"
	"log"
	"os"
	"path"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/resume"
	"github.com/urfave/cli/v2"
)

// transferFlags are shared by the commands that move files.
func transferFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "timeout", Value: control.DefaultTimeout, Usage: "a peer silent this long is down; also the data-stall deadline"},
		&cli.DurationFlag{Name: "keepalive", Usage: "NOOP interval on the control connection during transfers (default timeout/4; 0 turns NOOPs off)"},
		&cli.StringFlag{Name: "limit-rate", Usage: "maximum rate in bytes per second, with K, M or G suffix (1024-based, like curl)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print errors only"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log the FTP protocol to stderr (passwords masked)"},
		&cli.BoolFlag{Name: "insecure", Usage: "do not verify TLS certificates"},
	}
}

func getCommand() *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "download a file",
		ArgsUsage: "URL",
		Flags: append(transferFlags(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "local file (default: the remote name; - for stdout)"},
		),
		Action: getAction,
	}
}

func getAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError{"get takes one URL"}
	}
	t, err := resume.ParseURL(c.Args().First())
	if err != nil {
		return err
	}
	o, err := resumeOptions(c)
	if err != nil {
		return err
	}
	dst := c.String("output")
	if dst == "" {
		dst = path.Base(t.Path)
		if dst == "/" || dst == "." || dst == ".." {
			return usageError{fmt.Sprintf("%s names no file: give -o", t)}
		}
	}
	update, finish := newBar(os.Stderr, path.Base(t.Path), c.Bool("quiet") || dst == "-")
	o.Progress = update
	start := time.Now()
	out, err := resume.Get(c.Context, t, dst, o)
	finish()
	if err != nil {
		return err
	}
	if !c.Bool("quiet") && dst != "-" {
		fmt.Fprintf(os.Stderr, "%s: %d bytes in %.1fs\n", dst, out.Size, time.Since(start).Seconds())
	}
	return nil
}

// resumeOptions turns the shared flags into resume.Options.
func resumeOptions(c *cli.Context) (resume.Options, error) {
	o := resume.Options{Timeout: c.Duration("timeout")}
	if o.Timeout <= 0 {
		return o, usageError{"--timeout must be positive"}
	}
	if c.IsSet("keepalive") {
		o.Keepalive = c.Duration("keepalive")
		o.NoKeepalive = o.Keepalive == 0
	}
	if s := c.String("limit-rate"); s != "" {
		r, err := parseRate(s)
		if err != nil {
			return o, usageError{err.Error()}
		}
		o.RateLimit = r
	}
	logger := log.New(os.Stderr, "keepftp: ", log.Lmicroseconds)
	if !c.Bool("quiet") {
		o.Logf = logger.Printf
		noop.Default.Logf = logger.Printf
	}
	if c.Bool("verbose") {
		o.ProtoLog = logger.Printf
	}
	if c.Bool("insecure") {
		o.TLS = insecureTLS()
	}
	return o, nil
}
