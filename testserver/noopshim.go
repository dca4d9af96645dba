package testserver

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// NoopStyle is how the server answers NOOP while a transfer runs. Outside
// a transfer NOOP always gets "200".
type NoopStyle int

const (
	// NoopAfterTransfer: the NOOP is answered after the transfer's final
	// reply (vsftpd, proftpd). This is ftpserverlib's own behaviour: it
	// runs a command only once the running transfer is over.
	NoopAfterTransfer NoopStyle = iota
	// NoopImmediate200: "200" at once, before the transfer's 226 (pyftpdlib).
	NoopImmediate200
	// NoopImmediate500: "500 Unknown command" at once (pure-ftpd).
	NoopImmediate500
	// NoopNever: no reply at all (pure-ftpd losing replies).
	NoopNever
	// NoopAborts: a hostile server. The NOOP resets the transfer's data
	// connection and is answered "426"; that 426 is the transfer's final
	// reply (ftpserverlib's own final reply for it is swallowed), and the
	// NOOP gets no other reply.
	NoopAborts
)

func (n NoopStyle) String() string {
	switch n {
	case NoopAfterTransfer:
		return "NoopAfterTransfer"
	case NoopImmediate200:
		return "NoopImmediate200"
	case NoopImmediate500:
		return "NoopImmediate500"
	case NoopNever:
		return "NoopNever"
	case NoopAborts:
		return "NoopAborts"
	}
	return "NoopStyle(?)"
}

// The shim is a line-level proxy between the client and ftpserverlib. It
// exists because ftpserverlib queues every command behind a running
// transfer, so NOOP styles that answer mid-transfer must be handled before
// ftpserverlib sees the command. It also tells the fault layer which
// session a data connection belongs to and what transfer it carries.
//
// Under TLS the shim cannot read the session any more: once ftpserverlib
// answers the client's AUTH with 234 (or from the start, with implicit
// TLS), both directions become plain byte pipes (see tls.go) and the shim
// neither answers NOOPs nor learns passive ports for that session.
type shimSession struct {
	s      *Server
	client net.Conn
	server net.Conn

	wmu sync.Mutex // serialises writes to the client, one whole reply at a time

	mu           sync.Mutex
	running      bool         // a 1xx was sent and its final reply not yet
	swallow      int          // server final replies to drop (after an injected 426)
	lastTransfer transferKind // kind of the last transfer command forwarded
	data         *dataConn    // the session's latest data connection
	dataErr      bool         // that data connection failed (cut, reset, closed early)
	dataCut      bool         // ... because of an injected cut
	greeted      bool         // the greeting went by (serverToClient only)
	authPending  bool         // an AUTH was forwarded, its answer not yet seen
	closeOnce    sync.Once

	authDone chan bool     // the answer to a forwarded AUTH: true if 234
	done     chan struct{} // closed by close
}

func (s *Server) acceptShim() {
	defer s.wg.Done()
	for {
		c, err := s.pub.Accept()
		if err != nil {
			return
		}
		if s.refuseOverLimit(c) {
			continue
		}
		up, err := net.Dial("tcp", s.inner.Addr().String())
		if err != nil {
			s.logf("shim: dial ftpserverlib: %v", err)
			c.Close()
			continue
		}
		ss := &shimSession{s: s, client: c, server: up, authDone: make(chan bool, 1), done: make(chan struct{})}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		s.sessions[ss] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		if s.opts.ImplicitTLS {
			s.stats.update(func(st *Stats) { st.TLSSessions++ })
			go ss.pipe(ss.server, ss.client)
			go ss.pipe(ss.client, ss.server)
			continue
		}
		go ss.clientToServer()
		go ss.serverToClient()
	}
}

func (ss *shimSession) close() {
	ss.closeOnce.Do(func() {
		close(ss.done)
		ss.client.Close()
		ss.server.Close()
		s := ss.s
		s.mu.Lock()
		delete(s.sessions, ss)
		for p, o := range s.ports {
			if o == ss {
				delete(s.ports, p)
			}
		}
		s.mu.Unlock()
	})
}

func (ss *shimSession) writeClient(text string) {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if _, err := io.WriteString(ss.client, text); err != nil {
		ss.s.logf("shim: write to client: %v", err)
	}
}

func (ss *shimSession) clientToServer() {
	defer ss.s.wg.Done()
	defer ss.close()
	br := bufio.NewReader(ss.client)
	for {
		line, err := br.ReadString('\n')
		if line != "" && !ss.command(line) {
			auth := isAUTH(line)
			if auth {
				ss.mu.Lock()
				ss.authPending = true
				ss.mu.Unlock()
			}
			if _, werr := io.WriteString(ss.server, line); werr != nil {
				return
			}
			if auth && err == nil {
				// Read nothing more until AUTH is answered: after a 234
				// the client's next bytes are a TLS handshake.
				select {
				case ok := <-ss.authDone:
					if ok {
						ss.s.logf("shim: AUTH accepted; session is a byte pipe from now on")
						ss.s.stats.update(func(st *Stats) { st.TLSSessions++ })
						ss.pipeRest(ss.server, ss.client, br)
						return
					}
				case <-ss.done:
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// command looks at one client line and reports whether the shim handled
// it itself (the line is then not forwarded).
func (ss *shimSession) command(line string) bool {
	ss.s.mu.Lock()
	ss.s.log.add(line)
	ss.s.mu.Unlock()
	verb, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	verb = strings.ToUpper(verb)
	kind := kindOther
	switch verb {
	case "NOOP":
		ss.s.stats.update(func(st *Stats) { st.Noops++ })
		return ss.noop()
	case "RETR":
		kind = kindDownload
		ss.s.stats.update(func(st *Stats) { st.Downloads++ })
	case "STOR", "APPE", "STOU":
		kind = kindUpload
		ss.s.stats.update(func(st *Stats) { st.Uploads++ })
	case "LIST", "NLST", "MLSD":
	default:
		return false
	}
	// Recorded before the line reaches ftpserverlib, hence before the
	// data connection's first read or write asks for it.
	ss.mu.Lock()
	ss.lastTransfer = kind
	ss.mu.Unlock()
	return false
}

func (ss *shimSession) noop() bool {
	style := ss.s.noopStyle()
	ss.mu.Lock()
	if ss.running {
		ss.s.stats.update(func(st *Stats) { st.NoopsInTransfer++ })
	}
	if !ss.running || style == NoopAfterTransfer {
		ss.mu.Unlock()
		return false
	}
	switch style {
	case NoopImmediate200:
		ss.mu.Unlock()
		ss.writeClient("200 NOOP ok (answered during transfer).\r\n")
	case NoopImmediate500:
		ss.mu.Unlock()
		ss.writeClient("500 Unknown command.\r\n")
	case NoopNever:
		ss.mu.Unlock()
		ss.s.logf("shim: NOOP during transfer dropped")
	case NoopAborts:
		d := ss.data
		ss.running = false
		ss.swallow++
		ss.mu.Unlock()
		if d != nil {
			d.reset()
		}
		ss.writeClient("426 Connection closed; transfer aborted.\r\n")
	}
	return true
}

func (ss *shimSession) serverToClient() {
	defer ss.s.wg.Done()
	defer ss.close()
	br := bufio.NewReader(ss.server)
	for {
		r, err := readReply(br)
		if r.raw != "" {
			text, ok := ss.reply(r)
			if ok {
				ss.writeClient(text)
			}
			if auth, accepted := ss.authAnswer(r); auth {
				ss.authDone <- accepted
				if accepted && err == nil {
					ss.pipeRest(ss.client, ss.server, br)
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// authAnswer reports whether r answers a pending AUTH, and whether it
// accepted it. The shim stops reading the client's commands after AUTH, so
// the answer is the first final reply after the greeting (clients do not
// pipeline commands before AUTH).
func (ss *shimSession) authAnswer(r reply) (auth, accepted bool) {
	if !r.final() {
		return false, false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ss.greeted {
		ss.greeted = true
		return false, false
	}
	if !ss.authPending {
		return false, false
	}
	ss.authPending = false
	return true, r.code == 234
}

// reply tracks the transfer state from ftpserverlib's replies and returns
// the text to forward, if any.
func (ss *shimSession) reply(r reply) (string, bool) {
	switch r.code {
	case 227:
		if _, port, _, _, ok := parse227(r.raw); ok {
			ss.announce(port)
		}
	case 229:
		if port, _, _, ok := parse229(r.raw); ok {
			ss.announce(port)
		}
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case r.preliminary():
		ss.running = true
	case r.final() && ss.swallow > 0:
		// After NoopAborts answered 426 for the transfer, the next final
		// reply from ftpserverlib is that transfer's: ftpserverlib runs no
		// other command before it.
		ss.swallow--
		return "", false
	case r.final() && ss.running:
		ss.running = false
		failed, cut := ss.dataErr, ss.dataCut
		ss.dataErr, ss.dataCut = false, false
		if failed && r.code >= 400 {
			// ftpserverlib answers a broken data connection with "550
			// Issue during transfer"; real servers say 426.
			msg := "426 Connection closed; transfer aborted.\r\n"
			if cut {
				msg = "426 Connection closed; transfer aborted (injected cut).\r\n"
			}
			return msg, true
		}
	}
	return r.raw, true
}

// announce ties a passive port to this session before the client learns
// the port, so the data connection accepted on it finds its session.
func (ss *shimSession) announce(port int) {
	ss.s.mu.Lock()
	ss.s.ports[port] = ss
	ss.s.mu.Unlock()
}

func (ss *shimSession) setData(d *dataConn) {
	ss.mu.Lock()
	ss.data = d
	ss.dataErr, ss.dataCut = false, false
	ss.mu.Unlock()
}

func (ss *shimSession) transferKind() transferKind {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.lastTransfer
}

func (ss *shimSession) dataFailed(d *dataConn, cut bool) {
	ss.mu.Lock()
	if ss.data == d {
		ss.dataErr = true
		ss.dataCut = ss.dataCut || cut
	}
	ss.mu.Unlock()
}

// refuseOverLimit refuses c when Options.MaxConnsPerIP sessions from its
// address are open already: the greeting is the refusal, and c is closed.
func (s *Server) refuseOverLimit(c net.Conn) bool {
	limit := s.opts.MaxConnsPerIP
	if limit <= 0 {
		return false
	}
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	s.mu.Lock()
	open := 0
	for ss := range s.sessions {
		if h, _, _ := net.SplitHostPort(ss.client.RemoteAddr().String()); h == host {
			open++
		}
	}
	s.mu.Unlock()
	if open < limit {
		return false
	}
	s.stats.update(func(st *Stats) { st.Refused++ })
	s.logf("shim: refusing a connection from %s: %d open", host, open)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	io.WriteString(c, fmt.Sprintf("421 Too many connections (%d) from this IP\r\n", limit))
	c.Close()
	return true
}
