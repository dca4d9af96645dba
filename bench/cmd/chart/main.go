// Command chart draws the results file bench/run.sh writes as an SVG bar
// chart of ratios, and as a Markdown table, so a reader of
// bench/README.md takes in at a glance where keepftp stands against each
// client and each goal.
//
//	chart -in results.tsv -svg results.svg [-md results.md] [-title TEXT]
//
// The results file is tab-separated (see Parse): comment lines starting
// with "#" (shown under the title), a header line, then
//
//	row  client  value  reference  ratio  goal
//
// one line per row of the bench and client keepftp is measured against:
// keepftp's median, the client's, keepftp's over the client's, and the
// highest ratio the goal allows (empty when there is none). The chart has
// one bar per line, from 1x to the ratio on a log axis, green when the
// goal is met, red when not, grey without a goal, and a mark at the goal.
package main

import (
	"bytes"
	"flag"
	"log"
	"os"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("chart: ")
	in := flag.String("in", "", "results file (TSV) to read")
	svgOut := flag.String("svg", "", "SVG file to write")
	mdOut := flag.String("md", "", "Markdown table to write (optional)")
	title := flag.String("title", "keepftp against other clients: keepftp's median over theirs", "the chart's title")
	flag.Parse()
	if *in == "" || *svgOut == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(*in)
	if err != nil {
		log.Fatal(err)
	}
	rs, err := Parse(f)
	f.Close()
	if err != nil {
		log.Fatalf("%s: %v", *in, err)
	}
	if len(rs.Lines) == 0 {
		log.Fatalf("%s: no results", *in)
	}
	var svg bytes.Buffer
	if err := WriteSVG(&svg, rs, *title); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*svgOut, svg.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	if *mdOut != "" {
		var md bytes.Buffer
		if err := WriteMarkdown(&md, rs); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(*mdOut, md.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
