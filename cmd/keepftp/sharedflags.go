package main

import (
	"flag"

	"github.com/urfave/cli/v2"
)

// urfave/cli gives every App and Command the same --help and --version
// flags (cli.HelpFlag, cli.VersionFlag), and BoolFlag.Apply writes to the
// flag itself (it records the default). Runs that parse their flags at
// once, as the tests' runs do in one process, would race on that write.
// sharedFlag applies a copy: the value lives in each run's FlagSet, as it
// always did. It is set up before main runs and never changed after.
type sharedFlag struct{ *cli.BoolFlag }

func (f sharedFlag) Apply(set *flag.FlagSet) error {
	c := *f.BoolFlag
	return c.Apply(set)
}

// GetDefaultText is empty as for the BoolFlag it wraps (whose
// DisableDefaultText the help printer only sees on a *cli.BoolFlag).
func (f sharedFlag) GetDefaultText() string {
	if f.DisableDefaultText {
		return ""
	}
	return f.BoolFlag.GetDefaultText()
}

func init() {
	for _, fl := range []*cli.Flag{&cli.HelpFlag, &cli.VersionFlag} {
		if b, ok := (*fl).(*cli.BoolFlag); ok {
			*fl = sharedFlag{b}
		}
	}
}
