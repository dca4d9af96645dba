package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// A command reads the process's state only through its run (runEnv): the
// streams are App.Reader, App.Writer and App.ErrWriter, the environment is
// the run's lookup. Nothing here touches os.Stdin, os.Stdout, os.Stderr or
// os.Getenv, so that tests run many commands at once in one process.

// envKey is the App.Metadata key of the run's environment lookup.
const envKey = "keepftp/env"

// environ looks a variable up in a run's environment, as os.LookupEnv.
type environ func(name string) (string, bool)

// envOf is the run's environment.
func envOf(c *cli.Context) environ {
	if f, ok := c.App.Metadata[envKey].(func(string) (string, bool)); ok {
		return f
	}
	return os.LookupEnv
}

// terminal returns the descriptor behind a stream (under the run's
// masking), and whether it is a terminal: bars and the password prompt are
// for people, never for pipes, files or a test's buffers.
func terminal(stream any) (fd int, ok bool) {
	if w, masked := stream.(maskWriter); masked {
		stream = w.w
	}
	f, isFile := stream.(interface{ Fd() uintptr })
	if !isFile {
		return -1, false
	}
	fd = int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// isTerminal reports whether w writes to a terminal.
func isTerminal(w io.Writer) bool {
	_, ok := terminal(w)
	return ok
}

// unmasked is the stream under the run's masking: for mpb, which needs the
// terminal itself (the bars mask what they draw).
func unmasked(w io.Writer) io.Writer {
	if m, ok := w.(maskWriter); ok {
		return m.w
	}
	return w
}

// profileDir is where this run keeps what it learns about servers:
// os.UserCacheDir()/keepftp, read from the run's environment
// ($XDG_CACHE_HOME, else $HOME/.cache). "" leaves it to the library's
// default (the process's own os.UserCacheDir), as on the systems whose
// cache directory does not come from those two variables.
func profileDir(c *cli.Context) string {
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
		return ""
	}
	env := envOf(c)
	if d, _ := env("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "keepftp")
	}
	if home, _ := env("HOME"); home != "" {
		return filepath.Join(home, ".cache", "keepftp")
	}
	return ""
}
