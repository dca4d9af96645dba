package testserver

import "strings"

// maxLogged bounds the command log: a test that sends without end must
// not grow it without end. The oldest lines go first.
const maxLogged = 1 << 16

// commandLog is the server's log of the commands it received.
type commandLog struct {
	lines []string
}

func (l *commandLog) add(line string) {
	line = strings.TrimRight(line, "\r\n")
	verb, _, _ := strings.Cut(line, " ")
	if strings.EqualFold(verb, "PASS") {
		line = verb + " ****"
	}
	if len(l.lines) == maxLogged {
		l.lines = append(l.lines[:0], l.lines[1:]...)
	}
	l.lines = append(l.lines, line)
}

// Commands returns the commands the server received on plain sessions
// (the shim cannot read TLS ones), in the order they arrived, sessions
// interleaved, as the client wrote them without CRLF ("RETR /a/b"),
// passwords masked: the server's log, for tests that check what a client
// did on the server (which files it fetched, stored or deleted, and in
// which order). At most the last 65536 are kept.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log.lines...)
}
