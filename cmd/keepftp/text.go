package main

import (
	"fmt"
	"io"
	"log"
	"strings"
	"unicode"
	"unicode/utf8"
)

// safeText makes untrusted text (names from listings, link targets, server
// replies, URLs, errors that quote them) safe to print for people: every
// control character, invalid byte and invisible format character is
// written as an escape (\x1b, \x00, \u202e), so that nothing a server
// sends can move the cursor, recolour, retitle or clear a terminal, or put
// a NUL in the output. Printable text, including non-ASCII, is unchanged.
// Every human-readable line keepftp prints goes through it; JSON output is
// escaped by its encoding instead.
func safeText(s string) string {
	clean := true
	for _, r := range s {
		if !printable(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case printable(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

func printable(r rune) bool {
	if r == utf8.RuneError {
		return false // either an invalid byte or U+FFFD itself: escape both
	}
	return r == ' ' || unicode.IsPrint(r)
}

// safeLines is safeText for multi-line text: line breaks stay, everything
// else is escaped.
func safeLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		lines[i] = safeText(body) + l[len(body):]
	}
	return strings.Join(lines, "")
}

// safeWriter escapes what is written through it, line by line; for text
// rendered by other packages (doctor's report).
type safeWriter struct{ w io.Writer }

func (s safeWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, safeLines(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// safeLogf is a Logf that escapes the formatted line before it reaches the
// logger: log lines quote replies and names.
func safeLogf(l *log.Logger) func(format string, args ...any) {
	return func(format string, args ...any) {
		l.Print(safeText(strings.TrimSuffix(fmt.Sprintf(format, args...), "\n")))
	}
}
