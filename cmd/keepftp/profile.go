package main

import (
	"fmt"

	"github.com/keepftp/keepftp/doctor"
	"github.com/keepftp/keepftp/resume"
	"github.com/urfave/cli/v2"
)

// profileAction is doctor --show and --forget: what keepftp learned about
// the server named by the URL (host, port and user; no login needed).
func profileAction(c *cli.Context, t resume.Target) error {
	if c.Bool("show") && c.Bool("forget") {
		return usageError{"--show and --forget exclude each other"}
	}
	who := t.Addr
	if t.User != "" {
		who = t.User + "@" + t.Addr
	}
	if c.Bool("forget") {
		found, err := doctor.ForgetProfile(t.Addr, t.User, "")
		if err != nil {
			return err
		}
		if found {
			fmt.Fprintf(c.App.Writer, "forgot what keepftp learned about %q\n", who)
		} else {
			fmt.Fprintf(c.App.Writer, "nothing learned about %q\n", who)
		}
		return nil
	}
	found, err := doctor.ShowProfile(c.App.Writer, t.Addr, t.User, "", c.Bool("json"))
	if err == nil && !found {
		fmt.Fprintf(c.App.Writer, "nothing learned about %q yet (keepftp doctor --idle-probe measures the path)\n", who)
	}
	return err
}
