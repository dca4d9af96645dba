package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
)

// secrets are the passwords a run logs in with. Everything keepftp prints
// (stdout's text, stderr, the --json-file events) passes a maskWriter that
// masks them: the library masks a password a server echoes where the text
// enters, and this is the second net, for any text that reaches an output
// by another way. The data of get -o - goes to standard output directly,
// never through it.
type secrets struct {
	mu    sync.Mutex
	forms [][]byte // longest first
}

// minMasked is the shortest password masked: a shorter one would hide
// ordinary words and numbers in every line, and is no secret worth the
// name (the library's rule too).
const minMasked = 4

var maskedText = []byte("****")

// add makes s mask pw in every form it can take in printed text: as it
// is, escaped for a terminal (safeText), in JSON, percent-encoded as in a
// URL (upper or lower hex digits) and quoted by Go (%q).
func (s *secrets) add(pw string) {
	if s == nil || len(pw) < minMasked {
		return
	}
	forms := []string{pw, safeText(pw), url.PathEscape(pw), url.QueryEscape(pw),
		strings.TrimPrefix(url.UserPassword("", pw).String(), ":")}
	if q := strconv.Quote(pw); len(q) > 2 {
		forms = append(forms, q[1:len(q)-1])
	}
	if j, err := json.Marshal(pw); err == nil && len(j) > 2 {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	for _, f := range forms[2:] {
		forms = append(forms, lowerHex(f))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range forms {
		if !slices.ContainsFunc(s.forms, func(b []byte) bool { return string(b) == f }) {
			s.forms = append(s.forms, []byte(f))
		}
	}
	slices.SortFunc(s.forms, func(a, b []byte) int { return len(b) - len(a) })
}

// lowerHex writes the hex digits of s's percent-escapes in lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lowerDigit(b[i+1]), lowerDigit(b[i+2])
		}
	}
	return string(b)
}

func lowerDigit(b byte) byte {
	if 'A' <= b && b <= 'F' {
		return b + 'a' - 'A'
	}
	return b
}

// mask returns p with every form of every password replaced by ****.
func (s *secrets) mask(p []byte) []byte {
	if s == nil {
		return p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.forms {
		if bytes.Contains(p, f) {
			p = bytes.ReplaceAll(p, f, maskedText)
		}
	}
	return p
}

// maskWriter masks the run's passwords in what is written through it. One
// Write is one piece of text (a line, an event, a frame of the bars), so a
// password is never split between two.
type maskWriter struct {
	w io.Writer
	s *secrets
}

func (m maskWriter) Write(p []byte) (int, error) {
	if _, err := m.w.Write(m.s.mask(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// secretsKey is where the run's secrets are kept in the App's Metadata.
const secretsKey = "secrets"

// secretsOf returns the run's secrets (nil, which masks nothing, for an App
// not made by run).
func secretsOf(c *cli.Context) *secrets {
	s, _ := c.App.Metadata[secretsKey].(*secrets)
	return s
}
