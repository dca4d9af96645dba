package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

func readSample(t *testing.T) *Results {
	t.Helper()
	f, err := os.Open("testdata/sample.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestParseSample(t *testing.T) {
	t.Parallel()
	rs := readSample(t)
	if len(rs.Lines) != 12 {
		t.Fatalf("%d lines, want 12", len(rs.Lines))
	}
	if len(rs.Rows()) != 6 {
		t.Errorf("%d rows, want 6: %q", len(rs.Rows()), rs.Rows())
	}
	if len(rs.Notes) != 1 || !strings.HasPrefix(rs.Notes[0], "2026-12-03") {
		t.Errorf("notes %q", rs.Notes)
	}
	want := Result{Row: "one 14-byte file, 50 ms RTT, plain, wall (s)", Client: "curl", Value: 0.58, Reference: 0.48, Ratio: 1.208, Goal: 0.7}
	if rs.Lines[5] != want {
		t.Errorf("line 6: %+v, want %+v", rs.Lines[5], want)
	}
	if rs.Lines[5].Met() || !rs.Lines[0].Met() || rs.Lines[1].HasGoal() || rs.Lines[2].HasGoal() {
		t.Errorf("goals: %+v", rs.Lines[:6])
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const h = header + "\n"
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"comments only", "# a note\n"},
		{"wrong header", "row\tclient\tvalue\n"},
		{"line before header", "a\tb\t1\t1\t1\t1\n" + h},
		{"five fields", h + "a\tb\t1\t1\t1\n"},
		{"seven fields", h + "a\tb\t1\t1\t1\t1\t1\n"},
		{"empty row", h + "\tb\t1\t1\t1\t1\n"},
		{"empty client", h + "a\t \t1\t1\t1\t1\n"},
		{"value not a number", h + "a\tb\tx\t1\t1\t1\n"},
		{"zero reference", h + "a\tb\t1\t0\t1\t1\n"},
		{"negative ratio", h + "a\tb\t1\t1\t-1\t1\n"},
		{"NaN ratio", h + "a\tb\t1\t1\tNaN\t1\n"},
		{"infinite value", h + "a\tb\t+Inf\t1\t1\t1\n"},
		{"bad goal", h + "a\tb\t1\t1\t1\tsoon\n"},
		{"long line", h + strings.Repeat("a", maxLineLen+1) + "\tb\t1\t1\t1\t1\n"},
		{"long field", h + strings.Repeat("a", maxFieldLen+1) + "\tb\t1\t1\t1\t1\n"},
		{"too many lines", h + strings.Repeat("a\tb\t1\t1\t1\t1\n", maxLines)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs, err := Parse(strings.NewReader(tc.in))
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("Parse = %+v, %v; want an error wrapping ErrFormat", rs, err)
			}
		})
	}
}

// svgDoc is what a test reads back from the SVG: every element, by its
// class, with its attributes.
type svgElem struct {
	name  string
	attrs map[string]string
	text  string
}

func parseSVG(t *testing.T, b []byte) []svgElem {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var els []svgElem
	var stack []int
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
				if tok.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root element in namespace %q", tok.Name.Space)
				}
			}
			e := svgElem{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			els = append(els, e)
			stack = append(stack, len(els)-1)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				els[stack[len(stack)-1]].text += string(tok)
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return els
}

func attrFloat(t *testing.T, e svgElem, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attrs[name], 64)
	if err != nil {
		t.Fatalf("%s %s=%q: %v", e.name, name, e.attrs[name], err)
	}
	return v
}

func TestSVG(t *testing.T) {
	t.Parallel()
	rs := readSample(t)
	var b bytes.Buffer
	if err := WriteSVG(&b, rs, "title <&> of the chart"); err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, b.Bytes())
	var bars, goals []svgElem
	texts := map[string]bool{}
	for _, e := range els {
		switch {
		case e.attrs["class"] == "bar":
			bars = append(bars, e)
		case e.attrs["class"] == "goal":
			goals = append(goals, e)
		case e.name == "text":
			texts[e.text] = true
		}
	}
	if len(bars) != len(rs.Lines) {
		t.Errorf("%d bars, want one per row and client: %d", len(bars), len(rs.Lines))
	}
	nGoals := 0
	for _, l := range rs.Lines {
		if l.HasGoal() {
			nGoals++
		}
	}
	if len(goals) != nGoals {
		t.Errorf("%d goal marks, want %d", len(goals), nGoals)
	}
	for _, s := range []string{"title <&> of the chart", rs.Notes[0], "lftp pget, no cuts", "0.63x", "1.21x", "goal ≤ 0.7x", "1x"} {
		if !texts[s] {
			t.Errorf("no text %q in the SVG", s)
		}
	}

	// Bars run from 1x: those below it end there, those above start there,
	// and a smaller ratio is a longer bar on the left.
	a := newAxis(rs)
	x1 := a.x(1)
	for i, e := range bars {
		l := rs.Lines[i]
		x, w := attrFloat(t, e, "x"), attrFloat(t, e, "width")
		left, right := x, x+w
		// The end at the ratio is within 2 units (a bar's least width).
		if l.Ratio < 1 && (abs(right-x1) > 0.1 || abs(left-a.x(l.Ratio)) > 2) {
			t.Errorf("bar %d (ratio %v) spans %.1f..%.1f, want %.1f..%.1f", i, l.Ratio, left, right, a.x(l.Ratio), x1)
		}
		if l.Ratio > 1 && (abs(left-x1) > 0.1 || abs(right-a.x(l.Ratio)) > 2) {
			t.Errorf("bar %d (ratio %v) spans %.1f..%.1f, want %.1f..%.1f", i, l.Ratio, left, right, x1, a.x(l.Ratio))
		}
		want := map[bool]string{true: colorMet, false: colorNotMet}[l.Met()]
		if !l.HasGoal() {
			want = colorNoGoal
		}
		if e.attrs["fill"] != want {
			t.Errorf("bar %d (%+v) filled %s, want %s", i, l, e.attrs["fill"], want)
		}
	}
	if !(a.x(0.5) < a.x(0.7) && a.x(0.7) < x1 && x1 < a.x(1.2)) {
		t.Errorf("axis not increasing: %v %v %v %v", a.x(0.5), a.x(0.7), x1, a.x(1.2))
	}
	if a.lo > 0.5 || a.hi < 1.24 {
		t.Errorf("axis %v..%v does not hold the ratios and goals", a.lo, a.hi)
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	rs := readSample(t)
	rs.Lines[0].Row = "a | b"
	var b bytes.Buffer
	if err := WriteMarkdown(&b, rs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2+len(rs.Lines) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), 2+len(rs.Lines), b.String())
	}
	for _, tc := range []struct {
		i    int
		want string
	}{
		{2, `| a \| b | lftp | 0.193 | 0.308 | 0.63x | ≤ 1x | met |`},
		{3, `| plain get 200 MiB, wall (s) | curl | 0.193 | 0.299 | 0.65x |  |  |`},
		{7, `| one 14-byte file, 50 ms RTT, plain, wall (s) | curl | 0.58 | 0.48 | 1.21x | ≤ 0.7x | **not met** |`},
	} {
		if lines[tc.i] != tc.want {
			t.Errorf("line %d:\n got %s\nwant %s", tc.i, lines[tc.i], tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("testdata/sample.tsv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add(header + "\na\tb\t1\t1\t1\t\n")
	f.Add("#\n" + header + "\r\na\tb\t1e300\t1e-300\t1\t-\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		rs, err := Parse(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		var svg, md bytes.Buffer
		if err := WriteSVG(&svg, rs, "t"); err != nil {
			t.Fatal(err)
		}
		els := parseSVG(t, svg.Bytes())
		bars := 0
		for _, e := range els {
			if e.attrs["class"] == "bar" {
				bars++
			}
		}
		if bars != len(rs.Lines) {
			t.Fatalf("%d bars for %d lines", bars, len(rs.Lines))
		}
		if err := WriteMarkdown(&md, rs); err != nil {
			t.Fatal(err)
		}
	})
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
