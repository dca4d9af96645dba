package main

import (
	"fmt"
	"io"

	"github.com/keepftp/keepftp/doctor"
	"github.com/urfave/cli/v2"
)

// profileAction is doctor --show and --forget: what keepftp learned about
// the server named by the URL (host, port and user; no login needed).
func profileAction(c *cli.Context, addr, user string) error {
	if c.Bool("show") && c.Bool("forget") {
		return usageError{"--show and --forget exclude each other"}
	}
	who := addr
	if user != "" {
		who = user + "@" + addr
	}
	if c.Bool("forget") {
		found, err := doctor.ForgetProfile(addr, user, profileDir(c))
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
	// The profile is a file anyone with the user's rights may have edited:
	// its text is shown with control characters escaped.
	var w io.Writer = safeWriter{c.App.Writer}
	if c.Bool("json") {
		w = c.App.Writer // encoding/json escapes them
	}
	found, err := doctor.ShowProfile(w, addr, user, profileDir(c), c.Bool("json"))
	if err == nil && !found {
		fmt.Fprintf(c.App.Writer, "nothing learned about %q yet (keepftp doctor --idle-probe measures the path)\n", who)
	}
	return err
}
