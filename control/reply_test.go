package control

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestReplyParserCaps: a reply of exactly maxReplyLines lines or
// maxReplyBytes bytes is whole; one line or one byte more is refused,
// naming the cap.
func TestReplyParserCaps(t *testing.T) {
	t.Parallel()
	// feed gives p the first line, n-2 middle lines of text, and the last.
	feed := func(n int, middle string) (Reply, error) {
		var p replyParser
		lines := append([]string{"211-first"}, make([]string, n-2)...)
		for i := 1; i < n-1; i++ {
			lines[i] = middle
		}
		lines = append(lines, "211 end")
		for i, l := range lines {
			rep, done, err := p.add(l)
			if err != nil || done {
				if done && i != len(lines)-1 {
					return rep, fmt.Errorf("done early, at line %d", i)
				}
				return rep, err
			}
		}
		return Reply{}, errors.New("never done")
	}
	if rep, err := feed(maxReplyLines, " x"); err != nil || len(rep.Lines()) != maxReplyLines {
		t.Errorf("%d lines: %d lines, %v", maxReplyLines, len(rep.Lines()), err)
	}
	if _, err := feed(maxReplyLines+1, " x"); !errors.Is(err, ErrMalformedReply) || !strings.Contains(err.Error(), "1000 lines") {
		t.Errorf("%d lines: %v, want the line cap", maxReplyLines+1, err)
	}
	// 16 lines of (64 KiB - 2) bytes with their CRLF make exactly 1 MiB
	// with the first and last lines taken out of the last middle line.
	first, last := len("211-first")+2, len("211 end")+2
	middle := strings.Repeat("y", 64<<10-2)
	var p replyParser
	p.add("211-first")
	for i := 0; i < 15; i++ {
		p.add(middle)
	}
	if _, _, err := p.add(middle[:len(middle)-first-last]); err != nil {
		t.Fatalf("up to the byte cap: %v", err)
	}
	if rep, done, err := p.add("211 end"); err != nil || !done || len(rep.Msg) == 0 {
		t.Errorf("exactly %d bytes: %v, %v", maxReplyBytes, done, err)
	}
	p = replyParser{}
	p.add("211-first")
	for i := 0; i < 15; i++ {
		p.add(middle)
	}
	p.add(middle[:len(middle)-first-last+1])
	if _, _, err := p.add("211 end"); !errors.Is(err, ErrMalformedReply) || !strings.Contains(err.Error(), "1048576 bytes") {
		t.Errorf("one byte over: %v, want the byte cap", err)
	}
}
