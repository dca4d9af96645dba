package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/keepftp/keepftp/doctor"
	"github.com/urfave/cli/v2"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "probe a server and the path to it; recommend --timeout and --keepalive",
		ArgsUsage: "URL (a file to download, or a directory where a probe file may be uploaded)",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "idle-probe", Usage: "measure after how long of silence the path drops the control connection"},
			&cli.DurationFlag{Name: "max-idle", Value: 5 * time.Minute, Usage: "longest silent gap the idle probe tries"},
			&cli.DurationFlag{Name: "timeout", Value: 15 * time.Second, Usage: "how long each probe waits for an answer"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log the FTP protocol to stderr (passwords masked)"},
			&cli.StringFlag{Name: "netrc-file", Usage: "credentials file (default ~/.netrc)"},
			&cli.BoolFlag{Name: "show", Usage: "print what keepftp learned about the server (its profile) and probe nothing"},
			&cli.BoolFlag{Name: "forget", Usage: "remove what keepftp learned about the server and probe nothing"},
			&cli.BoolFlag{Name: "no-profile", Usage: "neither read nor update the server's profile"},
		}, append(tlsFlags(), proxyFlags()...)...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError{"doctor takes one URL"}
			}
			// The login comes the same way as get's: the URL,
			// KEEPFTP_PASSWORD, the netrc file, or a prompt.
			logins := newLogins(c)
			t, err := checkURL(logins, "", c.Args().First())
			if err != nil {
				return err
			}
			if c.Bool("show") || c.Bool("forget") {
				return profileAction(c, t.Addr, t.User)
			}
			o := doctor.Options{
				Timeout:     c.Duration("timeout"),
				Credentials: logins.fill,
				IdleProbe:   c.Bool("idle-probe"),
				MaxIdle:     c.Duration("max-idle"),
				NoProfile:   c.Bool("no-profile"),
				ProfileDir:  profileDir(c),
			}
			if c.Bool("verbose") {
				o.ProtocolLog = safeLogf(stderrLogger(c))
				o.Logf = o.ProtocolLog
			}
			if o.TLS, err = tlsOptions(c); err != nil {
				return err
			}
			if o.Proxy, err = proxyOptions(c); err != nil {
				return err
			}
			r, err := doctor.Run(c.Context, c.Args().First(), o)
			if err != nil {
				return err
			}
			// The report starts with the version line: pasted into a
			// bug report, it says which keepftp probed.
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(versionedReport{Keepftp: versionLine(), Report: r})
			}
			fmt.Fprintln(c.App.Writer, versionLine())
			r.WriteText(safeWriter{c.App.Writer})
			return nil
		},
	}
}

// versionedReport is doctor's JSON report with the version line as its
// first field ("keepftp"), before the report's own.
type versionedReport struct {
	Keepftp string `json:"keepftp"`
	doctor.Report
}
