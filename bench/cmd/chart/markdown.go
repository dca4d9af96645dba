package main

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes rs as a Markdown table, one line per row and
// client, for bench/README.md.
func WriteMarkdown(w io.Writer, rs *Results) error {
	var b strings.Builder
	b.WriteString("| row | against | keepftp | theirs | ratio | goal | |\n|---|---|---|---|---|---|---|\n")
	for _, l := range rs.Lines {
		goal, met := "", ""
		if l.HasGoal() {
			goal = "≤ " + num(l.Goal) + "x"
			met = "met"
			if !l.Met() {
				met = "**not met**"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			cell(l.Row), cell(l.Client), num(l.Value), num(l.Reference), ratio(l.Ratio), goal, met)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell keeps a table cell one cell: a "|" in it would start another.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
