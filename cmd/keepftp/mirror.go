package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keepftp/keepftp"
	"github.com/urfave/cli/v2"
)

func mirrorCommand() *cli.Command {
	return &cli.Command{
		Name:      "mirror",
		Usage:     "copy a tree either way: URL DIR downloads, DIR URL uploads (like lftp mirror -R); up-to-date files are skipped, partial ones resumed",
		ArgsUsage: "URL DIR | DIR URL",
		UsageText: `keepftp mirror [options] URL DIR   download the server's tree into DIR
keepftp mirror [options] DIR URL   upload DIR to the server (like lftp mirror -R)

The direction is the order of the arguments: "mirror URL DIR" copies the server's tree into
DIR, "mirror DIR URL" copies DIR to the server. Both list both sides first, plan, then copy:
a file is copied when the destination has none (missing), has a partial copy (partial to resume),
or one whose size or time differs; it is skipped when it is up to date, and the skip event says
by which rule: the same size and time, to the second where the listing gives seconds (MLSD;
after LIST, MDTM is asked for the files whose sizes match); on a server that takes no file time,
the same size and a server time not older than the local file's; with --checksum, the same hash.

An upload goes to a temporary .NAME.TAG.keepftp-part in its remote folder, is verified (size,
and the server's hash where it offers one), gets the local file's time (MFMT, or MDTM with a
time, or SITE UTIME, read back to check it) and is then renamed to NAME (RNFR, RNTO): a reader
on the server never sees a half-written file under NAME. A rerun after Ctrl-C or a kill resumes
each temporary and removes those of older versions. Remote folders are made as needed. The
local walk never follows a symbolic link out of DIR, nor one to a folder; names with CR, LF or
NUL are left out with a warning.

--delete removes from the destination what the source does not have: local files and folders
for a download, DELE and RMD on the server for an upload. It deletes nothing unless every
listing of the source succeeded completely (a folder that answered 550, a bad line, a cut data
connection, a name left out: nothing anywhere) and every file was copied; then it deletes after
the transfers, each folder only once emptied. Names the filters leave out, links and keepftp's
own files are never deleted. Each delete is a "delete" event and a "deleted:" line. Held back
deletes, or --max-delete N reached, exit 9.

--dry-run lists both sides and prints the plan, changing nothing on either side: what would be
transferred and why (missing, size differs, newer, partial to resume), what is up to date (by
which rule), which folders would be made, what would be deleted or kept. With --json the plan
is "plan" events.`,
		Flags: append(append(append(transferFlags(), batchFlags()...), filterFlags()...),
			removeSourceFlag("downloads: the remote file, with DELE, after the download is checked and synced to disk; uploads: the local file, after the server's size or hash matched it; folders stay"),
			&cli.BoolFlag{Name: "checksum", Usage: "up to date means the same hash (HASH or XSHA256, as rclone --checksum), not the same size and time; where the server offers no hash, say so and use size and time"},
			inplaceFlag(),
			&cli.BoolFlag{Name: "delete", Usage: "remove destination files and folders the source does not have, after the transfers; nothing is deleted unless every listing of the source succeeded and every file was copied (else exit 9); names the filters leave out and links stay"},
			&cli.IntFlag{Name: "max-delete", Value: -1, DefaultText: "no limit", Usage: "with --delete: delete at most `N` files and folders, stop before the next and exit 9"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the plan (what would be transferred and why, skipped, made, deleted) and change nothing on either side; with --json, as events"},
		),
		Action: mirrorAction,
	}
}

// inplaceFlag is put's and mirror's --inplace.
func inplaceFlag() cli.Flag {
	return &cli.BoolFlag{Name: "inplace", Usage: "upload to the final name directly, without a temporary and a rename: for servers without RNFR (a reader may see a half-written file, and a rerun cannot resume it)"}
}

// isURL reports whether a command-line argument is a URL (ftp://,
// ftps://, ftpes://) rather than a local path.
func isURL(arg string) bool {
	scheme, _, ok := strings.Cut(arg, "://")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "ftp", "ftps", "ftpes":
		return true
	}
	return false
}

func mirrorAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageError{"mirror takes a URL and a local directory: URL DIR downloads, DIR URL uploads"}
	}
	first, second := c.Args().Get(0), c.Args().Get(1)
	dir, url, dirn := second, first, keepftp.ToLocal
	switch {
	case isURL(first) && isURL(second):
		return usageError{"mirror takes one URL and one local directory, not two URLs"}
	case isURL(second):
		dir, url, dirn = first, second, keepftp.ToServer
	case !isURL(first):
		return usageError{fmt.Sprintf("mirror: neither %q nor %q is a URL (ftp://, ftps://, ftpes://)", safeText(first), safeText(second))}
	}
	logins := newLogins(c)
	if _, err := checkURL(logins, "", url); err != nil {
		return err
	}
	if dirn == keepftp.ToServer {
		st, err := os.Stat(dir)
		if err != nil {
			return usageError{err.Error()}
		}
		if !st.IsDir() {
			return usageError{dir + " is not a directory"}
		}
	}
	mo := keepftp.MirrorOptions{Checksum: c.Bool("checksum"), Delete: c.Bool("delete")}
	if c.IsSet("max-delete") {
		switch n := c.Int("max-delete"); {
		case !mo.Delete:
			return usageError{"--max-delete bounds --delete: give both"}
		case n < 1:
			return usageError{"--max-delete must be at least 1 (to see what --delete would remove, use --dry-run)"}
		default:
			mo.MaxDelete = n
		}
	}
	r, err := newRunner(c, -1, logins, func(o *keepftp.Options) { o.Inplace = c.Bool("inplace") })
	if err != nil {
		return err
	}
	r.localSources = dirn == keepftp.ToServer
	if c.Bool("dry-run") {
		return r.dryRun(dirn, url, dir, mo)
	}
	t := &resultTally{leftOutFirst: true}
	// Each delete is printed as it is done: a mirror may delete any
	// number of entries, and the summary holds only their count.
	if !c.Bool("quiet") && r.enc == nil {
		t.printDeleted = func(f keepftp.FileResult) {
			var w io.Writer = c.App.ErrWriter
			if r.bars != nil {
				w = r.bars // above the bars
			}
			fmt.Fprintf(w, "deleted: %s\n", safeText(r.deleteName(f)))
		}
	}
	err = r.client.MirrorFunc(c.Context, dirn, url, dir, mo, t.add)
	if err != nil && t.n == 0 {
		r.client.Close()
		return err
	}
	if ferr := r.finishTally(t); ferr != nil {
		return ferr
	}
	return err
}
