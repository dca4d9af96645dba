package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"path"
	"strings"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/urfave/cli/v2"
)

// transferFlags are shared by the commands that move files.
func transferFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.DurationFlag{Name: "timeout", Value: keepftp.DefaultTimeout, Usage: "a peer silent this long is down; also the data-stall deadline"},
		&cli.DurationFlag{Name: "keepalive", Usage: "NOOP interval on the control connection during transfers (default timeout/4, or half the idle limit the server's profile learned if shorter; 0 turns NOOPs off)"},
		&cli.StringFlag{Name: "limit-rate", Usage: "maximum rate in bytes per second for each transfer, with K, M or G suffix (1024-based, like curl)"},
		&cli.IntFlag{Name: "retries", Value: keepftp.DefaultPolicy.Retries, Usage: "give up after this many failed attempts in a row that moved no data"},
		&cli.DurationFlag{Name: "retry-max-delay", Value: keepftp.DefaultPolicy.MaxDelay, Usage: "longest wait between attempts (waits double from 1s, with jitter)"},
		&cli.DurationFlag{Name: "retry-deadline", Usage: "give up when retrying would run past this long in all (default: no deadline)"},
		&cli.BoolFlag{Name: "no-verify", Usage: "skip the hash check at the end (sizes are always checked)"},
		&cli.BoolFlag{Name: "require-verified", Usage: "a file nothing could check (the server gave no size and no hash) fails with exit 6 instead of ending \"complete (unverified)\": a download stays NAME.part, not renamed"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print errors only"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log the FTP protocol to stderr (passwords masked)"},
		&cli.BoolFlag{Name: "active", Usage: "active mode: the server connects to us for data (EPRT, or PORT)"},
		&cli.BoolFlag{Name: "no-profile", Usage: "neither use nor update what keepftp learned about the server (keepftp doctor --show prints it)"},
	}, append(tlsFlags(), proxyFlags()...)...)
}

func getCommand() *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "download files, resuming after failures",
		ArgsUsage: "URL... (the last path element may be a pattern: ftp://h/data/*.csv)",
		Flags: append(append(append(transferFlags(), batchFlags()...), filterFlags()...),
			removeSourceFlag("the remote file, with DELE, after the download is checked and synced to disk"),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "local file for one URL (- for stdout), or the directory for several (default: the remote names, here); one that is not a regular file (/dev/null, /dev/stdout, a FIFO) is written in place, never replaced"},
			&cli.StringFlag{Name: "input-file", Aliases: []string{"i"}, Usage: "read URLs from FILE: one URL and an optional destination per line; # comments"},
			&cli.BoolFlag{Name: "fresh", Usage: "ignore any partial download and start from 0"},
			&cli.StringFlag{Name: "part-suffix", Value: keepftp.DefaultPartSuffix, Usage: "suffix of the partial file while downloading"},
			&cli.BoolFlag{Name: "no-mtime", Usage: "do not set the file's time from the server's"},
			&cli.IntFlag{Name: "segments", Value: 1, Usage: "download each file in N ranges at once, one connection each (like lftp pget -n); files under 2 MiB go in one stream"},
		),
		Action: getAction,
	}
}

func getAction(c *cli.Context) error {
	var jobs []keepftp.Job
	var where []string // how to name each job's URL in an error
	for _, u := range c.Args().Slice() {
		jobs = append(jobs, keepftp.Job{URL: u})
		where = append(where, "")
	}
	if f := c.String("input-file"); f != "" {
		lines, err := readLines(f)
		if err != nil {
			return err
		}
		for _, l := range lines {
			jobs = append(jobs, keepftp.Job{URL: l.url, Dst: l.dst})
			where = append(where, l.where)
		}
	}
	if len(jobs) == 0 {
		return usageError{"get takes at least one URL (or -i FILE)"}
	}
	// -o that is not a regular file (-, /dev/null, /dev/stdout, a FIFO) is
	// written in place, in order, as a stream: never replaced.
	var stream keepftp.Dest
	if out := c.String("output"); out == "-" || out != "" && len(jobs) == 1 && !isDir(out) {
		d, err := keepftp.LocalDest(out)
		if err != nil {
			return usageError{fmt.Sprintf("-o %s: %v", safeText(out), err)}
		}
		stream = d
	}
	if stream.Stdout() && c.Bool("json") && c.String("json-file") == "" {
		return usageError{"-o - and --json both want standard output: give the events a file of their own with --json-file FILE (--json-file /dev/stderr for the terminal)"}
	}
	logins := newLogins(c)
	dir := "."
	if out := c.String("output"); out != "" {
		if len(jobs) == 1 && !isDir(out) {
			jobs[0].Dst = out
		} else {
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			dir = out
		}
	}
	for i, j := range jobs {
		t, err := checkURL(logins, where[i], j.URL)
		if err != nil {
			return err
		}
		if j.Dst == "" && !keepftp.SafeName(path.Base(t.Path)) {
			return usageError{fmt.Sprintf("%s names no file: give -o", safeText(t.String()))}
		}
	}
	files := len(jobs)
	for _, j := range jobs {
		if strings.ContainsAny(path.Base(j.URL), "*?[") {
			files = -1 // a pattern: the count is known only later
		}
	}
	if files != -1 && filtering(c) {
		// The filters choose among the files a listing gives; a URL that
		// names one file is taken as named. Saying so beats ignoring them.
		return usageError{"--include, --exclude and the size and time bounds choose among the files of a pattern (ftp://h/dir/*.csv); no URL here is one"}
	}
	if c.Bool("remove-source-files") && c.String("output") == "-" {
		return usageError{"--remove-source-files and -o - do not go together: a stream cannot be synced to disk before the remote file is removed"}
	}
	if n := c.Int("segments"); n < 1 || n > maxSegments {
		return usageError{fmt.Sprintf("--segments must be from 1 to %d", maxSegments)}
	} else if n > 1 && stream.Stream != "" {
		// A stream is written in order: ranges fetched at once have
		// nowhere to go. Saying so beats ignoring the flag.
		return usageError{fmt.Sprintf("--segments and -o %s do not go together: %s is written in order, one stream", safeText(c.String("output")), stream.Stream)}
	}
	r, err := newRunner(c, files, logins, func(o *keepftp.Options) {
		o.Fresh, o.NoMtime, o.PartSuffix = c.Bool("fresh"), c.Bool("no-mtime"), c.String("part-suffix")
		o.Segments = c.Int("segments")
		o.Stdout = c.App.Writer // -o -
	})
	if err != nil {
		return err
	}
	return r.finish(r.client.GetAll(c.Context, jobs, dir))
}

// maxSegments bounds --segments: more connections than this to one server
// buy nothing and look like abuse.
const maxSegments = 16

func isDir(name string) bool {
	st, err := os.Stat(name)
	return err == nil && st.IsDir()
}

func report(w io.Writer, name string, out keepftp.Outcome, took time.Duration) {
	fmt.Fprintf(w, "%s: %s, %d bytes in %.1fs, %d attempt(s), checked by %s\n",
		safeText(name), safeText(out.Status), out.Size, took.Seconds(), out.Attempts, safeText(out.Verified))
}

// clientOptions turns the shared flags into the Client's options: the
// transfer settings, the log (unless --quiet), the profiles' switch.
func clientOptions(c *cli.Context) (keepftp.Options, error) {
	o, err := transferOptions(c)
	if err != nil {
		return keepftp.Options{}, err
	}
	o.Proxy, err = proxyOptions(c)
	o.NoProfile, o.ProfileDir = c.Bool("no-profile"), profileDir(c)
	if !c.Bool("quiet") {
		o.Logf = safeLogf(stderrLogger(c))
	}
	return o, err
}

// transferOptions turns the shared transfer flags into keepftp.Options.
func transferOptions(c *cli.Context) (keepftp.Options, error) {
	o := keepftp.Options{Timeout: c.Duration("timeout"), NoVerify: c.Bool("no-verify"), RequireVerified: c.Bool("require-verified"), Active: c.Bool("active")}
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
	if c.Int("retries") < 0 {
		return o, usageError{"--retries must not be negative"}
	}
	o.Retry = keepftp.DefaultPolicy
	o.Retry.Retries = c.Int("retries")
	o.Retry.MaxDelay = c.Duration("retry-max-delay")
	o.Retry.Deadline = c.Duration("retry-deadline")
	if c.Bool("verbose") {
		o.ProtocolLog = safeLogf(stderrLogger(c))
	}
	tlso, err := tlsOptions(c)
	if err != nil {
		return o, err
	}
	o.TLS = tlso
	return o, nil
}

// stderrLogger logs to the command's standard error, which masks the
// run's passwords.
func stderrLogger(c *cli.Context) *log.Logger {
	return log.New(c.App.ErrWriter, "keepftp: ", log.Ltime)
}
