package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// header is the first line of a results file that is not a comment.
const header = "row\tclient\tvalue\treference\tratio\tgoal"

// Caps on a results file: it is a few dozen lines written by run.sh.
const (
	maxLines    = 1000
	maxLineLen  = 1000
	maxNotes    = 10
	maxFieldLen = 200
)

// A Result is one line of a results file: keepftp's median (value) in one
// row of the bench against one other client's (reference), and their
// ratio. Goal is the highest ratio the issue asks for, or 0 when this
// client has none.
type Result struct {
	Row       string
	Client    string
	Value     float64
	Reference float64
	Ratio     float64
	Goal      float64
}

// HasGoal reports whether the line names a goal.
func (r Result) HasGoal() bool { return r.Goal > 0 }

// Met reports whether the ratio is within the goal.
func (r Result) Met() bool { return r.HasGoal() && r.Ratio <= r.Goal }

// Results is a parsed results file: its lines in order, and the notes
// (comment lines, "# " taken off) that say when and where it was run.
type Results struct {
	Notes []string
	Lines []Result
}

// Rows returns the row names in the order they first appear.
func (rs *Results) Rows() []string {
	var rows []string
	seen := map[string]bool{}
	for _, l := range rs.Lines {
		if !seen[l.Row] {
			seen[l.Row] = true
			rows = append(rows, l.Row)
		}
	}
	return rows
}

// ErrFormat is wrapped by every error about a results file's content.
var ErrFormat = errors.New("results file")

// Parse reads a results file: tab-separated, comment lines starting with
// "#" anywhere, then the header line, then one line per row and client:
//
//	row  client  value  reference  ratio  goal
//
// value, reference and ratio are positive numbers; goal is a positive
// number or empty (or "-") when this client has none. Blank lines are
// skipped.
func Parse(r io.Reader) (*Results, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineLen)
	rs := &Results{}
	sawHeader := false
	n := 0
	for sc.Scan() {
		n++
		if n > maxLines {
			return nil, fmt.Errorf("%w: more than %d lines", ErrFormat, maxLines)
		}
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "#"):
			if len(rs.Notes) < maxNotes {
				rs.Notes = append(rs.Notes, strings.TrimSpace(strings.TrimPrefix(line, "#")))
			}
			continue
		case !sawHeader:
			if line != header {
				return nil, fmt.Errorf("%w: line %d: header %q, want %q", ErrFormat, n, line, header)
			}
			sawHeader = true
			continue
		}
		res, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrFormat, n, err)
		}
		rs.Lines = append(rs.Lines, res)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrFormat, n+1, err)
	}
	if !sawHeader {
		return nil, fmt.Errorf("%w: no header line %q", ErrFormat, header)
	}
	return rs, nil
}

func parseLine(line string) (Result, error) {
	f := strings.Split(line, "\t")
	if len(f) != 6 {
		return Result{}, fmt.Errorf("%d fields, want 6", len(f))
	}
	for i, s := range f {
		if len(s) > maxFieldLen {
			return Result{}, fmt.Errorf("field %d longer than %d bytes", i+1, maxFieldLen)
		}
	}
	r := Result{Row: strings.TrimSpace(f[0]), Client: strings.TrimSpace(f[1])}
	if r.Row == "" || r.Client == "" {
		return Result{}, errors.New("empty row or client")
	}
	var err error
	for _, p := range []struct {
		name string
		s    string
		v    *float64
	}{{"value", f[2], &r.Value}, {"reference", f[3], &r.Reference}, {"ratio", f[4], &r.Ratio}} {
		if *p.v, err = positive(p.s); err != nil {
			return Result{}, fmt.Errorf("%s: %v", p.name, err)
		}
	}
	if g := strings.TrimSpace(f[5]); g != "" && g != "-" {
		if r.Goal, err = positive(g); err != nil {
			return Result{}, fmt.Errorf("goal: %v", err)
		}
	}
	return r, nil
}

func positive(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a positive finite number", s)
	}
	return v, nil
}
