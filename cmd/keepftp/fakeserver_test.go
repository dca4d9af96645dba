package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeFTP is a scripted FTP server over TCP on loopback for the CLI's
// end-to-end tests of hostile and broken servers: it answers the login and
// the usual commands itself and hands every command to handle first.
type fakeFTP struct {
	t      *testing.T
	ln     net.Listener
	banner []string
	// handle, if set, gets every command first; it returns true when it
	// has answered it.
	handle func(c *fakeConn, cmd string) bool
	// listing is what MLSD and LIST send on the data connection.
	listing string
	// cmds receives every command received (dropped when full).
	cmds chan string

	mu      sync.Mutex
	closers []io.Closer // connections and data listeners, closed at cleanup
}

type fakeConn struct {
	net.Conn
	r    *bufio.Reader
	srv  *fakeFTP
	data net.Listener // the passive listener of the last EPSV/PASV
}

func startFake(t *testing.T, f *fakeFTP) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.t, f.ln = t, ln
	f.cmds = make(chan string, 1024)
	if f.banner == nil {
		f.banner = []string{"220 fake server"}
	}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.closers {
			c.Close()
		}
		f.mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.closers = append(f.closers, c)
			f.mu.Unlock()
			go f.serve(&fakeConn{Conn: c, r: bufio.NewReader(c), srv: f})
		}
	}()
	return ln.Addr().String()
}

// waitCmd waits (bounded) until the server has received a command that
// starts with prefix.
func (f *fakeFTP) waitCmd(prefix string) bool {
	deadline := time.After(30 * time.Second)
	for {
		select {
		case c := <-f.cmds:
			if strings.HasPrefix(c, prefix) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func (c *fakeConn) send(lines ...string) error {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	_, err := c.Write([]byte(b.String()))
	return err
}

func (f *fakeFTP) serve(c *fakeConn) {
	defer c.Close()
	if c.send(f.banner...) != nil {
		return
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		select {
		case f.cmds <- cmd:
		default:
		}
		if f.handle != nil && f.handle(c, cmd) {
			continue
		}
		verb, arg, _ := strings.Cut(cmd, " ")
		switch strings.ToUpper(verb) {
		case "USER":
			c.send("331 password please")
		case "PASS":
			c.send("230 logged in")
		case "FEAT":
			c.send("211-Features:", " EPSV", " MDTM", " SIZE", " REST STREAM", " MLST type*;size*;modify*;", "211 End")
		case "TYPE", "OPTS", "NOOP", "MODE", "STRU":
			c.send("200 ok")
		case "PWD":
			c.send(`257 "/" is current`)
		case "CWD":
			c.send("250 ok")
		case "QUIT":
			c.send("221 bye")
			return
		case "EPSV":
			c.passive()
		case "MLSD", "LIST", "NLST":
			c.sendData([]byte(f.listing))
		case "SIZE", "MDTM", "MLST", "RETR":
			c.send("550 " + arg + ": no such file")
		default:
			c.send("502 not implemented")
		}
	}
}

// passive opens a data listener and answers EPSV.
func (c *fakeConn) passive() {
	if c.data != nil {
		c.data.Close()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.send("425 no data port")
		return
	}
	c.data = ln
	c.srv.mu.Lock()
	c.srv.closers = append(c.srv.closers, ln)
	c.srv.mu.Unlock()
	c.send(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)", ln.Addr().(*net.TCPAddr).Port))
}

// acceptData accepts the data connection of the last EPSV.
func (c *fakeConn) acceptData() (net.Conn, error) {
	if c.data == nil {
		return nil, fmt.Errorf("no EPSV")
	}
	c.data.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	d, err := c.data.Accept()
	if err == nil {
		c.srv.mu.Lock()
		c.srv.closers = append(c.srv.closers, d)
		c.srv.mu.Unlock()
	}
	return d, err
}

// sendData answers a transfer command with 150, the data, and 226.
func (c *fakeConn) sendData(data []byte) {
	d, err := c.acceptData()
	if err != nil {
		c.send("425 " + err.Error())
		return
	}
	c.send("150 here it comes")
	d.Write(data)
	d.Close()
	c.send("226 done")
}
