package proxytest

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Kind is the protocol the proxy speaks.
type Kind int

const (
	SOCKS5  Kind = iota // RFC 1928, with RFC 1929's user name and password
	CONNECT             // an HTTP proxy's CONNECT method
)

func (k Kind) String() string {
	if k == CONNECT {
		return "CONNECT"
	}
	return "SOCKS5"
}

// Options tune the proxy.
type Options struct {
	Kind Kind
	// User and Password, when User is not "", are the login the proxy
	// demands (SOCKS5 method 2; HTTP Proxy-Authorization: Basic).
	User, Password string
	// IdleTimeout closes a tunnel through which no byte passed, either
	// way, for this long; 0 never does.
	IdleTimeout time.Duration
	// Hosts are names the proxy resolves itself (name -> IP address),
	// like its /etc/hosts; other names are resolved by the system.
	Hosts map[string]string
	// SOCKSReply, if not 0, is the SOCKS5 reply code every CONNECT gets
	// (2: not allowed by ruleset, 5: connection refused, ...).
	SOCKSReply byte
	// Status, if set, is the status line's code and text every CONNECT
	// gets instead of 200 ("403 Forbidden"), and Echo adds the request's
	// lines to it (a proxy that echoes what it was sent).
	Status string
	Echo   bool
	// Answer, if set, is sent as the whole answer to CONNECT instead of
	// an HTTP status, and the connection closed.
	Answer []byte
	// Coalesce holds the first CONNECT's "200" until the server's first
	// bytes (its greeting) and sends both in one write.
	Coalesce bool
	// Silent accepts connections and never answers.
	Silent bool
}

// Tunnel is one connection the proxy opened for a client.
type Tunnel struct {
	Target     string // host:port as the client asked for it
	IdleClosed bool   // the idle timer closed it
}

// Proxy is a running proxy.
type Proxy struct {
	Addr string // 127.0.0.1:port
	o    Options
	l    net.Listener
	wg   sync.WaitGroup

	mu       sync.Mutex
	tunnels  []*tunnelState
	refusals int // logins refused
	conns    map[net.Conn]bool
	closed   bool
}

type tunnelState struct {
	target     string
	idleClosed atomic.Bool
}

// Start runs a proxy on a free loopback port until the test ends.
func Start(t testing.TB, o Options) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), o: o, l: l, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// URL is the proxy's URL with the login given (user and password may be
// "" for none).
func (p *Proxy) URL(user, password string) string {
	scheme := "socks5h"
	if p.o.Kind == CONNECT {
		scheme = "http"
	}
	login := ""
	if user != "" {
		login = user + ":" + password + "@"
	}
	return scheme + "://" + login + p.Addr
}

// Tunnels returns the tunnels opened so far, in order.
func (p *Proxy) Tunnels() []Tunnel {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Tunnel, len(p.tunnels))
	for i, ts := range p.tunnels {
		out[i] = Tunnel{Target: ts.target, IdleClosed: ts.idleClosed.Load()}
	}
	return out
}

// Refusals is how many logins the proxy refused.
func (p *Proxy) Refusals() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refusals
}

// Close stops the proxy and ends every tunnel.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.l.Close()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			if p.o.Silent {
				io.Copy(io.Discard, c)
				return
			}
			c.SetDeadline(time.Now().Add(10 * time.Second)) // the handshake
			if p.o.Kind == CONNECT {
				p.serveCONNECT(c)
			} else {
				p.serveSOCKS(c)
			}
		}()
	}
}

func (p *Proxy) refused() {
	p.mu.Lock()
	p.refusals++
	p.mu.Unlock()
}

// resolve maps a name through Hosts.
func (p *Proxy) resolve(target string) string {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return target
	}
	if ip, ok := p.o.Hosts[host]; ok {
		return net.JoinHostPort(ip, port)
	}
	return target
}

func (p *Proxy) serveSOCKS(c net.Conn) {
	br := bufio.NewReader(c)
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(br, methods); err != nil {
		return
	}
	want := byte(0)
	if p.o.User != "" {
		want = 2
	}
	if !strings.ContainsRune(string(methods), rune(want)) {
		p.refused()
		c.Write([]byte{5, 0xff})
		return
	}
	c.Write([]byte{5, want})
	if want == 2 {
		user, pass, ok := readUserPass(br)
		if !ok {
			return
		}
		if user != p.o.User || pass != p.o.Password {
			p.refused()
			c.Write([]byte{1, 1})
			return
		}
		c.Write([]byte{1, 0})
	}
	var req [4]byte
	if _, err := io.ReadFull(br, req[:]); err != nil || req[0] != 5 || req[1] != 1 {
		return
	}
	var host string
	switch req[3] {
	case 1, 4:
		ip := make(net.IP, 4)
		if req[3] == 4 {
			ip = make(net.IP, 16)
		}
		if _, err := io.ReadFull(br, ip); err != nil {
			return
		}
		host = ip.String()
	case 3:
		n, err := br.ReadByte()
		if err != nil {
			return
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(br, name); err != nil {
			return
		}
		host = string(name)
	default:
		c.Write([]byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	var port [2]byte
	if _, err := io.ReadFull(br, port[:]); err != nil {
		return
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
	if p.o.SOCKSReply != 0 {
		c.Write([]byte{5, p.o.SOCKSReply, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	up, err := net.DialTimeout("tcp", p.resolve(target), 5*time.Second)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
	c.SetDeadline(time.Time{})
	p.tunnel(c, br, up, target)
}

func readUserPass(br *bufio.Reader) (user, pass string, ok bool) {
	ver, err := br.ReadByte()
	if err != nil || ver != 1 {
		return "", "", false
	}
	read := func() (string, bool) {
		n, err := br.ReadByte()
		if err != nil {
			return "", false
		}
		b := make([]byte, n)
		_, err = io.ReadFull(br, b)
		return string(b), err == nil
	}
	u, ok1 := read()
	pw, ok2 := read()
	return u, pw, ok1 && ok2
}

func (p *Proxy) serveCONNECT(c net.Conn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect {
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		return
	}
	target := req.RequestURI
	if p.o.Answer != nil {
		c.Write(p.o.Answer)
		return
	}
	if p.o.User != "" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.o.User+":"+p.o.Password))
		if req.Header.Get("Proxy-Authorization") != want {
			p.refused()
			c.Write([]byte("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"proxytest\"\r\nContent-Length: 0\r\n\r\n"))
			return
		}
	}
	if p.o.Status != "" {
		status := p.o.Status
		if p.o.Echo {
			status += " (you sent: " + req.Header.Get("Proxy-Authorization") + ")"
		}
		fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n", status)
		return
	}
	up, err := net.DialTimeout("tcp", p.resolve(target), 5*time.Second)
	if err != nil {
		c.Write([]byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"))
		return
	}
	answer := []byte("HTTP/1.1 200 Connection established\r\nProxy-Agent: proxytest\r\n\r\n")
	p.mu.Lock()
	first := len(p.tunnels) == 0
	p.mu.Unlock()
	if p.o.Coalesce && first {
		buf := make([]byte, 4096)
		up.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := up.Read(buf)
		up.SetReadDeadline(time.Time{})
		answer = append(answer, buf[:n]...)
	}
	if _, err := c.Write(answer); err != nil {
		up.Close()
		return
	}
	c.SetDeadline(time.Time{})
	p.tunnel(c, br, up, target)
}

// tunnel copies both ways until both ends are done, closing both when no
// byte passed for the idle timeout.
func (p *Proxy) tunnel(c net.Conn, br *bufio.Reader, up net.Conn, target string) {
	if !p.track(up) {
		return
	}
	defer p.untrack(up)
	ts := &tunnelState{target: target}
	p.mu.Lock()
	p.tunnels = append(p.tunnels, ts)
	p.mu.Unlock()

	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst net.Conn, src io.Reader) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}
	go pipe(up, br)
	go pipe(c, up)
	go func() { wg.Wait(); close(done) }()
	if p.o.IdleTimeout <= 0 {
		<-done
		return
	}
	for {
		wait := time.Until(time.Unix(0, last.Load()).Add(p.o.IdleTimeout))
		if wait <= 0 {
			ts.idleClosed.Store(true)
			c.Close()
			up.Close()
			<-done
			return
		}
		select {
		case <-done:
			return
		case <-time.After(wait):
		}
	}
}
