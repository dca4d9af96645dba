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
		Usage:     "list a remote directory (MLSD, or LIST where the server has none); sorted by name, or as it arrives past 100,000 entries",
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
			return listStream(c, client, c.Args().First())
		},
	}
}

// lsSortMax and lsSortBytes bound the listing ls prints sorted by name: at
// most this many entries, with names and link targets of at most this
// many bytes in all. A longer one is printed as it arrives, in the
// server's order, so that a listing of any length takes bounded memory
// (about 100 bytes an entry, plus the names).
const (
	lsSortMax   = 100_000
	lsSortBytes = 8 << 20
)

// listStream prints a listing: sorted by name when it is within
// lsSortMax and lsSortBytes, else as it arrives. A line the server sent that
// cannot be parsed is reported on stderr and the others are printed, as
// a mirror does; the command then fails with ErrLeftOut (exit 9).
func listStream(c *cli.Context, client *keepftp.Client, url string) error {
	w := c.App.Writer
	enc := json.NewEncoder(w)
	show := func(e keepftp.Entry) {
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
	var held []keepftp.Entry // until the listing ends or passes lsSortMax or lsSortBytes
	heldBytes := 0
	streaming := false
	bad := 0
	err := client.ListFunc(c.Context, url, func(e keepftp.Entry, err error) error {
		switch {
		case err != nil:
			bad++
			fmt.Fprintf(c.App.ErrWriter, "keepftp: warning: %s\n", safeText(err.Error()))
		case streaming:
			show(e)
		default:
			e.Facts = nil // printed by none of the forms
			held = append(held, e)
			if heldBytes += len(e.Name) + len(e.Target); len(held) > lsSortMax || heldBytes > lsSortBytes {
				for _, e := range held {
					show(e)
				}
				held, streaming = nil, true
			}
		}
		return nil
	})
	sort.Slice(held, func(i, j int) bool { return held[i].Name < held[j].Name })
	for _, e := range held {
		show(e)
	}
	if err == nil && bad > 0 {
		err = fmt.Errorf("%w: %d line(s) of the listing could not be parsed (the others are printed)", keepftp.ErrLeftOut, bad)
	}
	return err
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
