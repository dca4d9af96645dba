package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Layout of the chart, in SVG user units (pixels at 100 %). Columns from
// the left: the row's name, the client's, the plot, the ratio in figures.
const (
	width      = 1000
	margin     = 12
	rowLabelW  = 250 // row names wrap at rowLabelChars
	clientX    = 372 // right edge of the client names
	plotLeft   = 400
	plotRight  = 838
	valueX     = 850
	barH       = 14
	barPitch   = 20
	groupPad   = 8
	lineH      = 15
	fontFamily = "DejaVu Sans, Verdana, Arial, sans-serif"

	rowLabelChars = 36

	colorMet    = "#2f9e5b"
	colorNotMet = "#d64541"
	colorNoGoal = "#9aa3ad"
	colorGoal   = "#1a1a1a"
	colorGrid   = "#d5d9de"
	colorText   = "#1f2328"
	colorMuted  = "#5a636e"
	colorBand   = "#f3f5f7"
)

// axis maps a ratio to x on a log scale from lo to hi, both powers of 2.
type axis struct{ lo, hi float64 }

func newAxis(rs *Results) axis {
	lo, hi := 1.0, 1.0
	for _, l := range rs.Lines {
		for _, v := range []float64{l.Ratio, l.Goal} {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	// A margin so no bar ends on the frame, at least 0.5x to 2x, at most
	// 1/64x to 64x (a bar beyond is cut at the frame; the figure says it).
	e := func(v float64) float64 { return math.Max(-6, math.Min(6, v)) }
	a := axis{
		lo: math.Pow(2, e(math.Min(-1, math.Floor(math.Log2(lo/1.12))))),
		hi: math.Pow(2, e(math.Max(1, math.Ceil(math.Log2(hi*1.12))))),
	}
	return a
}

func (a axis) x(v float64) float64 {
	v = math.Max(a.lo, math.Min(a.hi, v))
	f := (math.Log2(v) - math.Log2(a.lo)) / (math.Log2(a.hi) - math.Log2(a.lo))
	return plotLeft + f*(plotRight-plotLeft)
}

// labelled reports whether tick t gets a label: all of them when they
// are at least 48 units apart, else every second (or fourth) power of 2,
// always 1x.
func (a axis) labelled(t float64) bool {
	n := math.Log2(a.hi) - math.Log2(a.lo)
	step := int(math.Ceil(48 / ((plotRight - plotLeft) / n)))
	e := int(math.Round(math.Log2(t)))
	return e%step == 0
}

func (a axis) ticks() []float64 {
	var t []float64
	for v := a.lo; v <= a.hi*1.0001; v *= 2 {
		t = append(t, v)
	}
	return t
}

// svgWriter writes elements into a buffer; text goes through esc.
type svgWriter struct{ b bytes.Buffer }

func (w *svgWriter) f(format string, args ...any) { fmt.Fprintf(&w.b, format, args...) }

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func ratio(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "x" }

func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// text writes one text element at (x, y).
func (w *svgWriter) text(x, y float64, anchor, size, weight, color, s string) {
	w.f(`<text x="%s" y="%s" text-anchor="%s" font-size="%s" font-weight="%s" fill="%s">%s</text>`+"\n",
		px(x), px(y), anchor, size, weight, color, esc(s))
}

// wrap breaks s into lines of at most n characters at spaces (a longer
// word stays whole).
func wrap(s string, n int) []string {
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		switch {
		case cur == "":
			cur = word
		case len(cur)+1+len(word) <= n:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

func barColor(l Result) string {
	switch {
	case !l.HasGoal():
		return colorNoGoal
	case l.Met():
		return colorMet
	default:
		return colorNotMet
	}
}

// WriteSVG draws rs: for each row, one bar per client from 1x to the
// ratio on a log axis, coloured by whether it meets its goal, and the goal
// as a mark on the bar's line.
func WriteSVG(out io.Writer, rs *Results, title string) error {
	a := newAxis(rs)
	rows := rs.Rows()
	byRow := map[string][]Result{}
	for _, l := range rs.Lines {
		byRow[l.Row] = append(byRow[l.Row], l)
	}

	var body svgWriter
	y := float64(margin)

	// Title, notes, legend.
	y += 20
	body.text(margin, y, "start", "18", "bold", colorText, title)
	for _, n := range rs.Notes {
		y += 17
		body.text(margin, y, "start", "12.5", "normal", colorMuted, n)
	}
	y += 26
	lx := float64(margin)
	for _, it := range []struct{ color, label string }{
		{colorMet, "goal met"}, {colorNotMet, "goal not met"}, {colorNoGoal, "no goal for this client"},
	} {
		body.f(`<rect x="%s" y="%s" width="14" height="%d" rx="2" fill="%s"/>`+"\n", px(lx), px(y-11), barH-2, it.color)
		body.text(lx+20, y, "start", "12.5", "normal", colorText, it.label)
		lx += 20 + float64(len(it.label))*7.2 + 22
	}
	body.f(`<path d="%s" stroke="%s" stroke-width="2.5" fill="%s"/>`+"\n", goalPath(lx+5, y-12, barH-2), colorGoal, colorGoal)
	body.text(lx+16, y, "start", "12.5", "normal", colorText, "goal: the ratio must be at or left of the mark")

	// Axis labels above the plot, and the direction of better.
	y += 40
	x1 := a.x(1)
	body.text(x1-8, y-16, "end", "12", "bold", colorMet, "← keepftp faster / less CPU")
	body.text(x1+8, y-16, "start", "12", "bold", colorNotMet, "keepftp slower →")
	body.text(valueX, y, "start", "12", "bold", colorText, "keepftp ÷ theirs")
	body.text(clientX, y, "end", "12", "bold", colorText, "against")
	body.text(margin, y, "start", "12", "bold", colorText, "row (median of runs)")
	for _, t := range a.ticks() {
		if a.labelled(t) {
			body.text(a.x(t), y, "middle", "11.5", "normal", colorMuted, tickLabel(t))
		}
	}
	top := y + 7

	// The groups.
	var bars svgWriter
	y = top
	for i, row := range rows {
		ls := byRow[row]
		labels := wrap(row, rowLabelChars)
		h := math.Max(float64(len(ls)*barPitch-(barPitch-barH)), float64(len(labels)*lineH)) + 2*groupPad
		if i%2 == 0 {
			body.f(`<rect x="%d" y="%s" width="%d" height="%s" fill="%s"/>`+"\n", margin/2, px(y), width-margin, px(h), colorBand)
		}
		ly := y + h/2 - float64(len(labels)*lineH)/2 + lineH - 3.5
		for j, s := range labels {
			body.text(margin, ly+float64(j*lineH), "start", "12.5", "normal", colorText, s)
		}
		by := y + (h-float64(len(ls)*barPitch-(barPitch-barH)))/2
		for _, l := range ls {
			// At least 2 units wide, so a ratio of about 1 still shows
			// its colour, on its side of 1x.
			w := math.Max(2, math.Abs(a.x(l.Ratio)-x1))
			x0 := x1
			if l.Ratio < 1 {
				x0 = x1 - w
			}
			tip := fmt.Sprintf("%s, against %s: keepftp %s, %s %s, %s", l.Row, l.Client, num(l.Value), l.Client, num(l.Reference), ratio(l.Ratio))
			if l.HasGoal() {
				tip += fmt.Sprintf(" (goal ≤ %sx: %s)", num(l.Goal), map[bool]string{true: "met", false: "not met"}[l.Met()])
			}
			bars.f(`<rect class="bar" x="%s" y="%s" width="%s" height="%d" rx="2" fill="%s"><title>%s</title></rect>`+"\n",
				px(x0), px(by), px(w), barH, barColor(l), esc(tip))
			bars.text(clientX, by+barH-3, "end", "12", "normal", colorText, l.Client)
			bars.text(valueX, by+barH-3, "start", "12.5", "bold", barColor(l), ratio(l.Ratio))
			if l.HasGoal() {
				bars.f(`<path class="goal" d="%s" stroke="%s" stroke-width="2.5" fill="%s"/>`+"\n", goalPath(a.x(l.Goal), by, barH), colorGoal, colorGoal)
				bars.text(valueX+46, by+barH-3, "start", "11.5", "normal", colorMuted, "goal ≤ "+num(l.Goal)+"x")
			}
			by += barPitch
		}
		y += h
	}
	bottom := y

	// Grid behind the bars, 1x darker.
	var grid svgWriter
	for _, t := range a.ticks() {
		c, w := colorGrid, "1"
		if t == 1 {
			c, w = colorText, "1.5"
		}
		grid.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"/>`+"\n", px(a.x(t)), px(top), px(a.x(t)), px(bottom), c, w)
	}
	for _, t := range a.ticks() {
		if a.labelled(t) {
			body.text(a.x(t), bottom+16, "middle", "11.5", "normal", colorMuted, tickLabel(t))
		}
	}
	y = bottom + 36
	body.text(margin, y, "start", "11.5", "normal", colorMuted,
		"Each bar runs from 1x to keepftp's median over the other client's median (time, or CPU time where the row says so); log scale.")
	height := y + margin

	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%s" viewBox="0 0 %d %s" font-family="%s">`+"\n",
		width, px(height), width, px(height), fontFamily)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(title))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	// Bands and labels first, then the grid over the bands, then the bars.
	b.Write(body.b.Bytes())
	b.Write(grid.b.Bytes())
	b.Write(bars.b.Bytes())
	b.WriteString("</svg>\n")
	_, err := out.Write(b.Bytes())
	return err
}

// goalPath is the goal mark at x on a bar's line at y: a vertical stroke
// a little taller than the bar, under a small triangle pointing at it.
func goalPath(x, y float64, h int) string {
	return fmt.Sprintf("M%s %s v%d M%s %s h8 l-4 5 z", px(x), px(y-3), h+6, px(x-4), px(y-8))
}

// tickLabel writes 1/8 and less as fractions: 0.03125x is hard to read.
func tickLabel(t float64) string {
	if t < 0.2 {
		return "1/" + num(math.Round(1/t)) + "x"
	}
	return num(t) + "x"
}
