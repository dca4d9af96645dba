package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// versionCommand prints the version line: what a bug report, a package
// manager or a user asking "which keepftp is this" wants.
// keepftp --version is the same command (see versionAlias).
func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version: module version, VCS revision and time, Go version (also keepftp --version)",
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError{"version takes no arguments"}
			}
			fmt.Fprintln(c.App.Writer, versionLine())
			return nil
		},
	}
}

// versionFlag is listed in keepftp --help (and the manual) so that
// --version can be found; versionAlias makes it the version command
// before the line is parsed.
func versionFlag() cli.Flag {
	return &cli.BoolFlag{Name: "version", Usage: "print the version and exit (the same as keepftp version)"}
}

// versionAlias turns "keepftp --version" into "keepftp version": the
// command line's first word is otherwise a command, and normalizeArgs
// refuses a flag there.
func versionAlias(args []string) []string {
	if len(args) >= 2 && args[1] == "--version" {
		return append([]string{args[0], "version"}, args[2:]...)
	}
	return args
}

// versionLine is the binary's identity, from the build information the
// Go toolchain stamped into it:
//
//	keepftp v1.2.0 (revision 3f2a…, 2026-12-03T09:25:15Z, modified) go1.26.8 linux/amd64
//
// doctor's report and the -v log start with it too.
func versionLine() string {
	info, _ := debug.ReadBuildInfo() // nil when the binary holds none
	return formatVersion(info)
}

// formatVersion writes the version line from info (nil: the binary holds
// none). The revision is whole, so that it names one commit for good.
// The Go toolchain stamps no revision into a build made with
// -buildvcs=false, outside a repository, or in a linked git worktree
// (golang/go#58218): the line then says "revision unknown" rather than
// guess.
func formatVersion(info *debug.BuildInfo) string {
	version, goVersion := "(unknown version)", runtime.Version()
	var revision, when string
	modified := false
	if info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	vcs := []string{"revision unknown"}
	if revision != "" {
		vcs = []string{"revision " + revision}
		if when != "" {
			vcs = append(vcs, when)
		}
		if modified {
			vcs = append(vcs, "modified")
		}
	}
	return fmt.Sprintf("keepftp %s (%s) %s %s/%s", version, strings.Join(vcs, ", "), goVersion, runtime.GOOS, runtime.GOARCH)
}

// logVersionWhenVerbose makes the -v log of cmd start with the version
// line: a protocol log in a bug report then says which keepftp wrote it.
func logVersionWhenVerbose(cmd *cli.Command) {
	verbose := false
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			verbose = verbose || n == "verbose"
		}
	}
	if !verbose {
		return
	}
	before := cmd.Before
	cmd.Before = func(c *cli.Context) error {
		if c.Bool("verbose") {
			stderrLogger(c).Print(versionLine())
		}
		if before != nil {
			return before(c)
		}
		return nil
	}
}
