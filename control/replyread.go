package control

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

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
