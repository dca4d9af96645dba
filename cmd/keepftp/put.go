package main

import (
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/urfave/cli/v2"
)

func putCommand() *cli.Command {
	return &cli.Command{
		Name:      "put",
		Usage:     "upload files, resuming after failures; each goes to a temporary .NAME.TAG.keepftp-part, verified, given the local file's time, then renamed to NAME",
		ArgsUsage: "FILE... URL (a URL ending in / is a directory: the files keep their names)",
		Flags: append(append(append(transferFlags(), batchFlags()...), filterFlags()...),
			&cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Usage: "upload directories with their contents (the filters choose among them)"},
			removeSourceFlag("the local file, after the server's size or hash matched it"),
			inplaceFlag(),
		),
		Action: putAction,
	}
}

func putAction(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) < 2 {
		return usageError{"put takes FILE... and a URL"}
	}
	dest, srcs := args[len(args)-1], args[:len(args)-1]
	logins := newLogins(c)
	t, err := checkURL(logins, "", dest)
	if err != nil {
		return err
	}
	toDir := len(srcs) > 1 || c.Bool("recursive") || t.Path[len(t.Path)-1] == '/'
	filter, err := filterFrom(c, time.Now())
	if err != nil {
		return err
	}
	if filter != nil && !c.Bool("recursive") {
		return usageError{"--include, --exclude and the size and time bounds choose among the files of a directory: give -r and a directory"}
	}
	var ups []keepftp.Upload
	for _, src := range srcs {
		st, err := os.Stat(src)
		if err != nil {
			return usageError{err.Error()}
		}
		if st.IsDir() {
			if !c.Bool("recursive") {
				return usageError{src + " is a directory: give -r"}
			}
			base := filepath.Base(filepath.Clean(src))
			err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(src, p)
				if rel != "." && !takes(filter, rel, d) {
					if d.IsDir() {
						return fs.SkipDir // left out, with all it holds
					}
					return nil
				}
				if d.IsDir() {
					return nil
				}
				u := t
				u.Path = path.Join(t.Path, base, filepath.ToSlash(rel))
				ups = append(ups, keepftp.Upload{Src: p, URL: urlWithPath(dest, u.Path)})
				return nil
			})
			if err != nil {
				return err
			}
			continue
		}
		u := t.Path
		if toDir {
			u = path.Join(t.Path, filepath.Base(src))
		}
		ups = append(ups, keepftp.Upload{Src: src, URL: urlWithPath(dest, u)})
	}
	r, err := newRunner(c, len(ups), logins, func(o *keepftp.Options) { o.Inplace = c.Bool("inplace") })
	if err != nil {
		return err
	}
	r.localSources = true
	return r.finish(r.client.PutAll(c.Context, ups))
}

// takes asks the filter about a walked entry: rel is its path below the
// directory given, in local form.
func takes(f *keepftp.Filter, rel string, d fs.DirEntry) bool {
	if f == nil {
		return true
	}
	size, mod := int64(-1), time.Time{}
	if !d.IsDir() {
		if info, err := d.Info(); err == nil {
			size, mod = info.Size(), info.ModTime()
		}
	}
	return f.Includes(filepath.ToSlash(rel), d.IsDir(), size, mod)
}

// urlWithPath replaces the path of a raw URL, keeping its login.
func urlWithPath(raw, p string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw // ParseURL has accepted it already; cannot happen
	}
	u.Path, u.RawPath = p, ""
	return u.String()
}
