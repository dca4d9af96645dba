package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/urfave/cli/v2"
)

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list a remote directory (MLSD, or LIST where the server has none)",
		ArgsUsage: "URL",
		Flags: append(transferFlags(),
			&cli.BoolFlag{Name: "long", Aliases: []string{"l"}, Usage: "type, size, time and name"},
			&cli.BoolFlag{Name: "json", Usage: "one JSON object per entry"},
			&cli.StringFlag{Name: "netrc-file", Usage: "credentials file (default ~/.netrc)"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError{"ls takes one URL"}
			}
			o, err := clientOptions(c)
			if err != nil {
				return err
			}
			logins := newLogins(c)
			if _, err := checkURL(logins, "", c.Args().First()); err != nil {
				return err
			}
			o.Credentials = logins.fill
			client := keepftp.NewClient(o)
			defer client.Close()
			entries, err := client.List(c.Context, c.Args().First())
			if err != nil {
				return err
			}
			sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
			w := c.App.Writer
			enc := json.NewEncoder(w)
			for _, e := range entries {
				switch {
				case c.Bool("json"):
					enc.Encode(jsonEntry(e))
				case c.Bool("long"):
					t := "-"
					if !e.ModTime.IsZero() {
						t = e.ModTime.UTC().Format(time.DateTime)
					}
					name := safeText(e.Name)
					if e.Target != "" {
						name += " -> " + safeText(e.Target)
					}
					fmt.Fprintf(w, "%-4s %12d  %s  %s\n", e.Type, e.Size, t, name)
				default:
					fmt.Fprintf(w, "%s\n", safeText(e.Name))
				}
			}
			return nil
		},
	}
}

type entryJSON struct {
	Name    string     `json:"name"`
	Type    string     `json:"type"`
	Size    int64      `json:"size"`
	ModTime *time.Time `json:"modtime,omitempty"`
	Target  string     `json:"target,omitempty"`
}

func jsonEntry(e keepftp.Entry) entryJSON {
	j := entryJSON{Name: e.Name, Type: e.Type.String(), Size: e.Size, Target: e.Target}
	if !e.ModTime.IsZero() {
		t := e.ModTime.UTC()
		j.ModTime = &t
	}
	return j
}
