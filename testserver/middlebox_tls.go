package testserver

import "bufio"

// forwardRaw forwards the rest of the server's side of a control flow as
// bytes, for TLS (see MiddleboxOptions.ImplicitTLS): what br already
// buffered first. Liveness and expiry work as on plain flows.
func (s *mbSession) forwardRaw(br *bufio.Reader) {
	buf := make([]byte, 16<<10)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			s.touch()
			if !s.isExpired() {
				if _, werr := s.toClient.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if s.clientLine != nil {
				s.clientLine.flush()
			}
			return
		}
	}
}

// BlackholeControl makes every control flow open now drop everything from
// here on, both ways, keeping both sockets open: a NAT that lost its
// state. Under TLS the middlebox cannot see a final reply to drop
// (BlackholeAfterDataEOF); a test calls this at the moment it chooses,
// typically from a data connection it watches itself.
func (m *Middlebox) BlackholeControl() {
	m.mu.Lock()
	sessions := make([]*mbSession, 0, len(m.sessions))
	for s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.Unlock()
	for _, s := range sessions {
		s.expire(false, false)
	}
}
