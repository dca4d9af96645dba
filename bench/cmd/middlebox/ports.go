package main

import (
	"fmt"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Data connections under TLS: the middlebox cannot read an FTPS control
// connection, so it cannot point the client's data connections at itself
// by rewriting EPSV and PASV replies. Instead it listens on the server's
// whole passive range at another loopback address (-listen 127.0.0.2:0)
// and forwards each port to the same port of the server, with the delay;
// the server is told to announce that address in PASV (vsftpd's
// pasv_address, pure-ftpd's -P), and EPSV names the control connection's
// peer, which is the middlebox's address already.

// parsePorts reads "LO-HI".
func parsePorts(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi || hi-lo > 1024 {
		return 0, 0, fmt.Errorf("-data-ports: want LO-HI (at most 1025 ports), got %q", s)
	}
	return lo, hi, nil
}

// forwardRange forwards the ports [lo, hi] from the host of the
// middlebox's control address (listenAddr) to the same ports of the
// target's host, delay each way: -data-ports.
func forwardRange(listenAddr, target string, lo, hi int, delay time.Duration) ([]net.Listener, error) {
	lhost, _, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return nil, err
	}
	thost, _, err := net.SplitHostPort(target)
	if err != nil {
		return nil, fmt.Errorf("-target: %w", err)
	}
	return forwardPorts(lhost, thost, lo, hi, delay)
}

// forwardPorts listens on listenHost at every port of [lo, hi] and
// forwards each connection to the same port on targetHost, delay each
// way. It returns the listeners, to be closed at the end.
func forwardPorts(listenHost, targetHost string, lo, hi int, delay time.Duration) ([]net.Listener, error) {
	var ls []net.Listener
	for p := lo; p <= hi; p++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(listenHost, strconv.Itoa(p)))
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, err
		}
		ls = append(ls, ln)
		go accept(ln, net.JoinHostPort(targetHost, strconv.Itoa(p)), delay)
	}
	return ls, nil
}

func accept(ln net.Listener, target string, delay time.Duration) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			up, err := net.Dial("tcp", target)
			if err != nil {
				log.Printf("data connection to %s: %v", target, err)
				c.Close()
				return
			}
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); delayCopy(up.(*net.TCPConn), c.(*net.TCPConn), delay) }()
			go func() { defer wg.Done(); delayCopy(c.(*net.TCPConn), up.(*net.TCPConn), delay) }()
			wg.Wait()
			c.Close()
			up.Close()
		}()
	}
}

// delayCopy copies src to dst, every chunk delay after it was read, in
// order, and src's end to dst as a half-close, delay later. A failed
// write resets both.
func delayCopy(dst, src *net.TCPConn, delay time.Duration) {
	type chunk struct {
		due time.Time
		b   []byte // nil: src ended
	}
	q := make(chan chunk, 1024)
	go func() {
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{time.Now().Add(delay), buf[:n]}
			}
			if err != nil {
				q <- chunk{due: time.Now().Add(delay)}
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.due))
		if c.b == nil {
			dst.CloseWrite()
			return
		}
		if _, err := dst.Write(c.b); err != nil {
			dst.SetLinger(0)
			src.SetLinger(0)
			dst.Close()
			src.Close()
			for c := range q { // let the reader end
				if c.b == nil {
					return
				}
			}
		}
	}
}
