package control

import (
	"fmt"
	"strings"
)

// Caps on one reply. A hostile server can send a multi-line reply that
// never ends ("220-" forever, an endless FEAT); without a cap it is kept
// in memory until the process dies.
//
// The largest replies keepftp reads are FEAT (about 40 short lines on the
// richest real servers), MLST (three lines) and greetings, where an
// administrator's banner runs to a few dozen lines. 1000 lines and 1 MiB
// leave a wide margin for all of them and for STAT or HELP text, and keep
// the worst case small: one reply of 1 MiB, plus one line of maxLine
// being read.
const (
	maxReplyLines = 1000
	maxReplyBytes = 1 << 20
)

// replyParser assembles one reply from its lines (without line endings),
// with the rules of net/textproto.Reader.ReadResponse: a first line
// "ddd-text" opens a multi-line reply that ends with a line "ddd text"
// of the same code; lines in between are kept as they are, except that a
// "ddd-" prefix of the same code is removed. It refuses a reply longer
// than maxReplyLines lines or maxReplyBytes bytes. It does no I/O, so
// that it can be tested and fuzzed on its own.
type replyParser struct {
	code    int
	lines   int
	size    int
	started bool
	msg     strings.Builder
	sec     *secret // masked in the text an error quotes
}

// add takes the next line. It returns the reply and true when the line
// completed it, and an error wrapping ErrMalformedReply when the line is
// not what a reply can hold at this point or a cap is crossed.
func (p *replyParser) add(line string) (Reply, bool, error) {
	p.lines++
	p.size += len(line) + 2 // the CRLF counts: it was read too
	if p.lines > maxReplyLines {
		return Reply{}, false, fmt.Errorf("%w: reply %d longer than %d lines", ErrMalformedReply, p.code, maxReplyLines)
	}
	if p.size > maxReplyBytes {
		return Reply{}, false, fmt.Errorf("%w: reply %d longer than %d bytes", ErrMalformedReply, p.code, maxReplyBytes)
	}
	if !p.started {
		code, more, text, ok := parseCodeLine(line)
		if !ok {
			return Reply{}, false, fmt.Errorf("%w: not a reply line: %q", ErrMalformedReply, clip(p.sec.mask(line)))
		}
		if !more {
			return Reply{Code: code, Msg: text}, true, nil
		}
		p.started, p.code = true, code
		p.msg.WriteString(text)
		return Reply{}, false, nil
	}
	p.msg.WriteByte('\n')
	code, more, text, ok := parseCodeLine(line)
	if !ok || code != p.code {
		p.msg.WriteString(strings.TrimRight(line, "\r")) // stray CRs are no text (as textproto)
		return Reply{}, false, nil
	}
	p.msg.WriteString(text)
	if more {
		return Reply{}, false, nil
	}
	return Reply{Code: p.code, Msg: p.msg.String()}, true, nil
}

// inReply reports whether a multi-line reply was opened and not yet ended.
func (p *replyParser) inReply() bool { return p.started }

// parseCodeLine splits "ddd text" (more false) or "ddd-text" (more true).
// The code is three ASCII digits, 100 to 999.
func parseCodeLine(line string) (code int, more bool, text string, ok bool) {
	if len(line) < 4 || line[3] != ' ' && line[3] != '-' {
		return 0, false, "", false
	}
	for i := 0; i < 3; i++ {
		d := line[i]
		if d < '0' || d > '9' {
			return 0, false, "", false
		}
		code = code*10 + int(d-'0')
	}
	if code < 100 {
		return 0, false, "", false
	}
	return code, line[3] == '-', line[4:], true
}

// clip shortens s for an error message.
func clip(s string) string {
	const n = 80
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
