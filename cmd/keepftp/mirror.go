package main

import (
	"github.com/urfave/cli/v2"
)

func mirrorCommand() *cli.Command {
	return &cli.Command{
		Name:      "mirror",
		Usage:     "copy a remote directory tree; files already up to date are skipped, partial ones resumed",
		ArgsUsage: "URL DIR",
		Flags: append(append(append(transferFlags(), batchFlags()...), filterFlags()...),
			removeSourceFlag("the remote file, with DELE, after the download is checked and synced to disk; folders stay")),
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError{"mirror takes a URL and a local directory"}
			}
			logins := newLogins(c)
			if _, err := checkURL(logins, "", c.Args().Get(0)); err != nil {
				return err
			}
			r, err := newRunner(c, -1, logins, nil)
			if err != nil {
				return err
			}
			results, err := r.client.Mirror(c.Context, c.Args().Get(0), c.Args().Get(1), r.par)
			if err != nil && len(results) == 0 {
				r.client.Close()
				return err
			}
			if ferr := r.finish(results); ferr != nil {
				return ferr
			}
			return err
		},
	}
}
