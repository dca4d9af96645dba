package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// normalizeArgs checks a command line and puts the command's flags before
// its operands, so that flags may come anywhere, as curl, wget and lftp
// users type them (keepftp get URL -o out). urfave/cli stops reading flags
// at the first operand; rather than leave that to it, the line is read
// here once, knowing which flags take a value:
//
//   - "--" ends the flags: everything after it is an operand;
//   - --name=value, --name value, -n value and -qv (bool short flags) work;
//   - an unknown command or flag, a missing value, or a value that does not
//     parse (--timeout 5 has no unit, --retries abc) is a usageError
//     naming it, before anything connects.
//
// The result is: program, command, flags as --name=value, "--", operands.
func normalizeArgs(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 {
		return nil, usageError{fmt.Sprintf("no command (commands: %s; keepftp --help tells more)", commandNames(app))}
	}
	if args[len(args)-1] == "--generate-bash-completion" {
		return args, nil // shell completion of a line being typed: urfave answers it
	}
	name := args[1]
	switch {
	case name == "-h" || name == "--help" || name == "help" || name == "h":
		return args, nil
	case strings.HasPrefix(name, "-"):
		return nil, usageError{fmt.Sprintf("unknown flag %s before the command (commands: %s)", safeText(name), commandNames(app))}
	}
	cmd := findCommand(app, name)
	if cmd == nil {
		return nil, usageError{fmt.Sprintf("unknown command %q (commands: %s)", safeText(name), commandNames(app))}
	}
	flags, operands, err := splitFlags(cmd, args[2:])
	if err != nil {
		return nil, err
	}
	if len(operands) > 0 && (operands[0] == "help" || operands[0] == "h") {
		// urfave/cli's help subcommand of a command (newApp hides it).
		return []string{args[0], name, "--help"}, nil
	}
	out := append([]string{args[0], name}, flags...)
	if len(operands) > 0 {
		out = append(append(out, "--"), operands...)
	}
	return out, nil
}

func findCommand(app *cli.App, name string) *cli.Command {
	for _, c := range app.Commands {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func commandNames(app *cli.App) string {
	var names []string
	for _, c := range app.Commands {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// splitFlags separates a command's flags from its operands and checks
// every flag and value.
func splitFlags(cmd *cli.Command, args []string) (flags, operands []string, err error) {
	byName := map[string]cli.Flag{}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			byName[n] = f
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(operands, args[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a) // "-" alone is an operand (stdin, stdout)
			continue
		}
		body := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		n, value, hasValue := strings.Cut(body, "=")
		if n == "help" || n == "h" {
			return []string{"--help"}, nil, nil // help, whatever else the line says
		}
		f, ok := byName[n]
		if !ok {
			if expanded, used, ok := shortCluster(byName, a, args[i+1:]); ok {
				for _, e := range expanded {
					if err := checkFlag(byName, e); err != nil {
						return nil, nil, err
					}
				}
				flags = append(flags, expanded...)
				i += used
				continue
			}
			typed, _, _ := strings.Cut(a, "=")
			return nil, nil, usageError{fmt.Sprintf("unknown flag %s for %s (see keepftp %s --help)", safeText(typed), cmd.Name, cmd.Name)}
		}
		if !takesValue(f) {
			if hasValue {
				if _, err := strconv.ParseBool(value); err != nil {
					return nil, nil, usageError{fmt.Sprintf("%s=%s: want true or false", flagSpelling(n), safeText(value))}
				}
			}
			flags = append(flags, "--"+a[len(a)-len(body):])
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, nil, usageError{fmt.Sprintf("%s needs a value", flagSpelling(n))}
			}
			i++
			value = args[i]
		}
		if err := checkValue(f, n, value); err != nil {
			return nil, nil, err
		}
		flags = append(flags, "--"+n+"="+value)
	}
	return flags, operands, nil
}

// shortCluster expands short flags written together, as getopt does:
// -qv is -q -v; -qo FILE and -qoFILE are -q -o FILE. It returns the flags
// as --x or --x=value, and how many of rest it used (1 for -qo FILE).
func shortCluster(byName map[string]cli.Flag, a string, rest []string) ([]string, int, bool) {
	if len(a) < 3 || a[1] == '-' {
		return nil, 0, false
	}
	var out []string
	letters := a[1:]
	for j, r := range letters {
		f, ok := byName[string(r)]
		if !ok || len(string(r)) != 1 {
			return nil, 0, false
		}
		if !takesValue(f) {
			out = append(out, "--"+string(r))
			continue
		}
		if value := letters[j+1:]; value != "" {
			return append(out, "--"+string(r)+"="+value), 0, true
		}
		if len(rest) == 0 {
			return nil, 0, false
		}
		return append(out, "--"+string(r)+"="+rest[0]), 1, true
	}
	return out, 0, true
}

// checkFlag checks the value of a flag in the --x=value form.
func checkFlag(byName map[string]cli.Flag, flag string) error {
	n, value, ok := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
	if !ok {
		return nil
	}
	return checkValue(byName[n], n, value)
}

func takesValue(f cli.Flag) bool {
	d, ok := f.(cli.DocGenerationFlag)
	return ok && d.TakesValue()
}

// flagSpelling is how a user writes the flag: -o or --timeout.
func flagSpelling(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// checkValue parses a flag's value by the flag's type and checks its range,
// so that every numeric and duration flag of every command is refused the
// same clear way.
func checkValue(f cli.Flag, typed, value string) error {
	spelled := flagSpelling(typed) + " " + safeText(value)
	name := f.Names()[0]
	switch f.(type) {
	case *cli.DurationFlag:
		d, err := time.ParseDuration(value)
		if err != nil {
			if _, nerr := strconv.ParseFloat(value, 64); nerr == nil {
				return usageError{spelled + ": a duration needs a unit, like 30s, 2m or 1h30m"}
			}
			return usageError{spelled + ": not a duration (like 30s, 2m or 1h30m)"}
		}
		if d < 0 {
			return usageError{spelled + ": must not be negative"}
		}
		if d == 0 && positiveDurations[name] {
			return usageError{spelled + ": must be more than 0"}
		}
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return usageError{spelled + ": not a whole number"}
		}
		if r, ok := intRanges[name]; ok && (n < r[0] || n > r[1]) {
			return usageError{fmt.Sprintf("%s: want %d to %d", spelled, r[0], r[1])}
		} else if n < 0 {
			return usageError{spelled + ": must not be negative"}
		}
	case *cli.Float64Flag:
		if v, err := strconv.ParseFloat(value, 64); err != nil || v < 0 {
			return usageError{spelled + ": not a number of 0 or more"}
		}
	}
	if name == "limit-rate" {
		if _, err := parseRate(value); err != nil {
			return usageError{err.Error()}
		}
	}
	return checkFilterValue(name, value)
}

// positiveDurations are the duration flags for which 0 means nothing
// sensible (--keepalive 0 and --retry-deadline 0 do: off, no deadline).
var positiveDurations = map[string]bool{"timeout": true, "retry-max-delay": true, "max-idle": true}

// intRanges bound the integer flags whose range is not just "0 or more".
var intRanges = map[string][2]int64{
	"parallel": {1, 256},
	"retries":  {0, 1000},
}
