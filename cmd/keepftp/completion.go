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

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script (bash): source <(keepftp completion bash)",
		ArgsUsage: "bash",
		Action: func(c *cli.Context) error {
			if c.Args().First() != "bash" {
				return usageError{"completion supports bash"}
			}
			fmt.Fprint(c.App.Writer, bashCompletion)
			return nil
		},
	}
}
