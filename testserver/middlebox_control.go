package testserver

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The middlebox's control flows: the two pumps between client and server,
// idle expiry (blackhole or reset), the BlackholeAfterDataEOF trap, and the
// rewriting of passive replies (227, 229) to point at a data listener of
// the middlebox.

// mbSession is one control flow and the data flows it announced.
type mbSession struct {
	m      *Middlebox
	client net.Conn
	server net.Conn
	last   atomic.Int64 // unix nanoseconds of the last byte either way
	done   chan struct{}
	// toClient and toServer are where the pumps write: the sockets, or
	// delay lines in front of them (clientLine, serverLine; nil without
	// Delay).
	toClient, toServer     io.Writer
	clientLine, serverLine *delayLine
	encrypted              atomic.Bool // TLS from here on: commands can no longer be read
	cmdBuf                 []byte      // a command line not yet complete (clientToServer only)

	mu        sync.Mutex
	expired   bool   // blackholed or reset: nothing is forwarded any more
	trapped   bool   // BlackholeAfterDataEOF fired on one of this session's flows
	pumps     int    // control pumps finished
	lastXfer  string // the last transfer command line ("RETR /a"), for Chaos
	lastNth   int64  // how many times lastXfer was seen before
	flows     map[*mbFlow]struct{}
	listeners map[net.Listener]struct{}
	closeOnce sync.Once
}

func (s *mbSession) touch() { s.last.Store(time.Now().UnixNano()) }

func (s *mbSession) isTrapped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trapped
}

func (s *mbSession) isExpired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expired
}

// expire kills the control flow's state. reset chooses RST over a
// blackhole; counted says whether it is an idle expiry (for Stats).
func (s *mbSession) expire(reset, counted bool) {
	s.mu.Lock()
	if s.expired {
		s.mu.Unlock()
		return
	}
	s.expired = true
	s.mu.Unlock()
	if counted {
		s.m.stats.update(func(st *MiddleboxStats) { st.Expired++ })
	}
	s.m.logf("middlebox: control flow %s expired (reset=%v)", s.client.RemoteAddr(), reset)
	if reset {
		resetConn(s.client)
		resetConn(s.server)
	}
}

func (s *mbSession) watchIdle() {
	defer s.m.wg.Done()
	idle := s.m.opts.IdleTimeout
	if idle <= 0 {
		return
	}
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		silent := time.Since(time.Unix(0, s.last.Load()))
		if silent >= idle {
			s.expire(s.m.opts.Mode == ExpireReset, true)
			return
		}
		t.Reset(idle - silent)
	}
}

// pumpDone handles a control pump ending because its side closed or
// failed. A live flow is torn down as a whole. A blackholed flow keeps
// the other side's socket open, like a NAT that dropped its state and
// therefore also drops the FIN: only the side that closed is closed.
func (s *mbSession) pumpDone(from net.Conn) {
	s.mu.Lock()
	s.pumps++
	last := s.pumps == 2
	expired := s.expired
	first := s.pumps == 1
	s.mu.Unlock()
	if first && !expired && from == s.server {
		s.m.stats.update(func(st *MiddleboxStats) { st.ServerClosed++ })
	}
	if first {
		s.m.stats.update(func(st *MiddleboxStats) { st.Closed++ })
	}
	if expired && !last {
		from.Close()
		return
	}
	if last {
		s.closeAll()
		return
	}
	s.client.Close()
	s.server.Close()
}

// closeAll closes the control flow, its data listeners and data flows.
func (s *mbSession) closeAll() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.clientLine != nil {
			s.clientLine.close()
			s.serverLine.close()
		}
		s.client.Close()
		s.server.Close()
		s.mu.Lock()
		for l := range s.listeners {
			l.Close()
		}
		flows := make([]*mbFlow, 0, len(s.flows))
		for f := range s.flows {
			flows = append(flows, f)
		}
		s.mu.Unlock()
		for _, f := range flows {
			f.close()
		}
		s.m.mu.Lock()
		delete(s.m.sessions, s)
		s.m.mu.Unlock()
	})
}

func (s *mbSession) clientToServer() {
	defer s.m.wg.Done()
	defer s.pumpDone(s.client)
	buf := make([]byte, 4096)
	for {
		n, err := s.client.Read(buf)
		if n > 0 {
			s.touch()
			if !s.m.opts.ImplicitTLS && !s.encrypted.Load() {
				s.commands(buf[:n])
			}
			if !s.isExpired() {
				if _, werr := s.toServer.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if s.serverLine != nil {
				s.serverLine.flush() // what was said before the close still arrives
			}
			return
		}
	}
}

func (s *mbSession) serverToClient() {
	defer s.m.wg.Done()
	defer s.pumpDone(s.server)
	br := bufio.NewReader(s.server)
	if s.m.opts.ImplicitTLS {
		s.forwardRaw(br)
		return
	}
	for {
		r, err := readReply(br)
		if r.raw != "" {
			s.touch()
			text := r.raw
			if !s.isExpired() {
				switch r.code {
				case 227, 229:
					text = s.passive(r)
				}
				if r.final() && (s.m.armed() || s.isTrapped()) {
					s.waitServerEOF()
					if s.isTrapped() {
						s.expire(false, false)
					}
				}
			}
			if !s.isExpired() {
				if r.code == 234 {
					s.encrypted.Store(true) // before the client can answer it
				}
				if _, werr := io.WriteString(s.toClient, text); werr != nil {
					return
				}
			}
			if r.code == 234 && err == nil { // AUTH TLS accepted: TLS from here on
				s.forwardRaw(br)
				return
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

// waitServerEOF holds a final reply until this session's connected data
// flows have seen EOF from the server (see BlackholeAfterDataEOF).
func (s *mbSession) waitServerEOF() {
	s.mu.Lock()
	var waits []chan struct{}
	for f := range s.flows {
		waits = append(waits, f.serverEOF)
	}
	s.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-s.done:
			return
		}
	}
}

// passive opens a data listener for a 227/229 reply and returns the reply
// rewritten to point at it. If anything fails the reply goes through
// unchanged, and the client will connect straight to the server.
func (s *mbSession) passive(r reply) string {
	targetHost, _, err := net.SplitHostPort(s.m.opts.Target)
	if err != nil {
		return r.raw
	}
	var dataAddr string
	var start, end int
	listenIP := s.m.ip
	if r.code == 227 {
		ip, port, st, en, ok := parse227(r.raw)
		if !ok {
			return r.raw
		}
		if ip == "0.0.0.0" {
			ip = targetHost
		}
		dataAddr, start, end = net.JoinHostPort(ip, strconv.Itoa(port)), st, en
		// 227 can only carry IPv4.
		if listenIP.To4() == nil {
			listenIP = net.IPv4(127, 0, 0, 1)
		}
	} else {
		port, st, en, ok := parse229(r.raw)
		if !ok {
			return r.raw
		}
		dataAddr, start, end = net.JoinHostPort(targetHost, strconv.Itoa(port)), st, en
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(listenIP.String(), "0"))
	if err != nil {
		s.m.logf("middlebox: data listen: %v", err)
		return r.raw
	}
	s.mu.Lock()
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	s.m.wg.Add(1)
	go s.acceptData(ln, dataAddr)

	port := ln.Addr().(*net.TCPAddr).Port
	var repl string
	if r.code == 227 {
		ip4 := listenIP.To4()
		repl = strconv.Itoa(int(ip4[0])) + "," + strconv.Itoa(int(ip4[1])) + "," +
			strconv.Itoa(int(ip4[2])) + "," + strconv.Itoa(int(ip4[3])) + "," +
			strconv.Itoa(port/256) + "," + strconv.Itoa(port%256)
	} else {
		repl = strconv.Itoa(port)
	}
	s.m.logf("middlebox: passive %s -> %s", ln.Addr(), dataAddr)
	return r.raw[:start] + repl + r.raw[end:]
}
