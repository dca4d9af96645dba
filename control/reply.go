package control

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Replies: the Reply type, the parser that assembles one from its lines,
// and the reader that reads them off the control connection, each capped so
// that a hostile server cannot make us buffer without end.

// Reply is one complete FTP reply. A multi-line reply's lines are joined
// with "\n" in Msg, without the code prefix on the first and last line.
type Reply struct {
	Code int
	// Msg is the reply's text, with the connection's password masked
	// (secret.go): text to show, log or quote.
	Msg string

	raw string  // the text as sent, when masking changed it: for parsing only
	sec *secret // the password masked in Msg, when it was there
}

// data is the reply's text as the server sent it, for parsers: a path, a
// size, a port or a digest is data, and masking must not change it.
func (r Reply) data() string {
	if r.sec != nil {
		return r.raw
	}
	return r.Msg
}

// hide masks the password in err, an error made from the reply's data (a
// parse error quoting it).
func (r Reply) hide(err error) error { return r.sec.maskErr(err) }

// Class is the reply's first digit: 1 preliminary, 2 completion,
// 3 intermediate, 4 transient failure, 5 permanent failure.
func (r Reply) Class() int { return r.Code / 100 }

// Preliminary reports a 1xx reply: more replies will follow.
func (r Reply) Preliminary() bool { return r.Code >= 100 && r.Code < 200 }

// OK reports a 2xx reply.
func (r Reply) OK() bool { return r.Code >= 200 && r.Code < 300 }

// Lines returns the reply's lines, each trimmed of surrounding space.
func (r Reply) Lines() []string {
	ls := strings.Split(r.Msg, "\n")
	for i := range ls {
		ls[i] = strings.TrimSpace(ls[i])
	}
	return ls
}

// err turns a reply into a *ReplyError for cmd, or, for a reply that
// ends the session (sessionEnded), into an ErrConnLost: that reply says
// nothing about the command, and the next connection may well succeed.
func (r Reply) err(cmd string) error {
	if r.sessionEnded(cmd) {
		return fmt.Errorf("%s: %w: the server ended the session: %d %s", cmd, ErrConnLost, r.Code, clip(firstLine(r.Msg)))
	}
	return &ReplyError{Cmd: cmd, Code: r.Code, Msg: r.Msg}
}

// sessionEnded reports vsftpd's "500 OOPS: ...", its die(): an internal
// failure of the session (no passive port it could bind among a busy
// range, "vsf_sysutil_bind"; its privileged helper gone,
// "priv_sock_get_int"), after which the session process exits. Past the
// login it fails the session, not the command. At the login it stays a
// refusal: there it is the server's configuration ("refusing to run with
// writable root inside chroot()"), which every connection meets.
func (r Reply) sessionEnded(cmd string) bool {
	if r.Code != 500 || !strings.HasPrefix(r.Msg, "OOPS:") {
		return false
	}
	verb, _, _ := strings.Cut(cmd, " ")
	switch strings.ToUpper(verb) {
	case "", "USER", "PASS", "ACCT", "AUTH", "PBSZ", "PROT":
		return false
	}
	return true
}

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

// maxLine bounds one reply line, so a hostile server cannot make us buffer
// without end.
const maxLine = 64 << 10

// replyReader reads replies from the control connection: lines of at most
// maxLine bytes, assembled by a replyParser (which caps a whole reply).
type replyReader struct {
	br   *bufio.Reader
	line []byte  // reused across lines
	sec  *secret // the password, masked in every reply's text
}

func newReplyReader(r io.Reader) *replyReader {
	return &replyReader{br: bufio.NewReaderSize(r, 4096)}
}

// next reads one complete reply. A reply cut by the end of input is
// io.ErrUnexpectedEOF; the end of input between replies is io.EOF.
func (r *replyReader) next() (Reply, error) {
	p := replyParser{sec: r.sec}
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && p.inReply() {
				err = io.ErrUnexpectedEOF
			}
			return Reply{}, err
		}
		rep, done, err := p.add(line)
		if err != nil || done {
			return r.mask(rep), err
		}
	}
}

// mask masks the password in rep's text, keeping the text as sent for
// the parsers (Reply.data).
func (r *replyReader) mask(rep Reply) Reply {
	if m := r.sec.mask(rep.Msg); m != rep.Msg {
		rep.raw, rep.Msg, rep.sec = rep.Msg, m, r.sec
	}
	return rep
}

var errLineTooLong = fmt.Errorf("%w: reply line longer than %d bytes", ErrMalformedReply, maxLine)

// readLine reads one line without its "\n" or "\r\n". A last line without
// a line ending is returned as a line; then io.EOF.
func (r *replyReader) readLine() (string, error) {
	r.line = r.line[:0]
	for {
		frag, err := r.br.ReadSlice('\n')
		r.line = append(r.line, frag...)
		switch {
		case err == nil:
			line := bytes.TrimSuffix(r.line[:len(r.line)-1], []byte("\r"))
			if len(line) > maxLine {
				return "", errLineTooLong
			}
			return string(line), nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(r.line) > maxLine+1 { // +1: a CR that a LF may still follow
				return "", errLineTooLong
			}
			continue
		case err == io.EOF && len(r.line) > 0:
			if len(r.line) > maxLine {
				return "", errLineTooLong
			}
			return string(r.line), nil // the next read gives io.EOF again
		default:
			return "", err
		}
	}
}
