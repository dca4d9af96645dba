package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// bashCompletion is urfave/cli's bash completion script for a program that
// has EnableBashCompletion: it asks the program itself for the candidates.
const bashCompletion = `# keepftp bash completion: source <(keepftp completion bash)
_keepftp_complete() {
  local cur opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == "-"* ]]; then
    opts=$( "${COMP_WORDS[@]:0:$COMP_CWORD}" "$cur" --generate-bash-completion )
  else
    opts=$( "${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion )
  fi
  COMPREPLY=( $(compgen -W "${opts}" -- "$cur") )
  return 0
}
complete -o bashdefault -o default -o nospace -F _keepftp_complete keepftp
`

// zshCompletion asks the program the same way; with $0 ending in zsh,
// urfave/cli answers "name:description" pairs for _describe.
const zshCompletion = `#compdef keepftp
# keepftp zsh completion: source <(keepftp completion zsh)
_keepftp() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(env 0=zsh ${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(env 0=zsh ${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _keepftp keepftp
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: source <(keepftp completion bash|zsh), keepftp completion fish | source",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "bash":
				fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion)
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				fmt.Fprint(c.App.Writer, s)
			default:
				return usageError{"completion takes bash, zsh or fish"}
			}
			return nil
		},
	}
}

func manCommand() *cli.Command {
	return &cli.Command{
		Name:  "man",
		Usage: "print the manual page (roff): keepftp man | man -l -",
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError{"man takes no arguments"}
			}
			s, err := c.App.ToMan()
			if err != nil {
				return err
			}
			fmt.Fprint(c.App.Writer, s)
			return nil
		},
	}
}
