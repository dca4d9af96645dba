package ftptest

import (
	"bufio"
	"net"
	"net/textproto"
	"sync"
	"testing"
)

// ServeTCP starts a scripted FTP server on a loopback TCP port and returns
// its address ("127.0.0.1:port"). Every control connection accepted runs
// script in its own goroutine with a Server over that connection; data
// connections the client opens to the port named by EPSVReply arrive on
// the Server's Data channel. When the test ends, the listeners and all
// connections are closed and the scripts are waited for; I/O errors of a
// script after that point are not failures.
func ServeTCP(t testing.TB, script func(fs *Server)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dataLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	var (
		closed  bool
		wg      sync.WaitGroup
		mu      sync.Mutex
		conns   []net.Conn
		servers []*Server
		current *Server // the latest control connection's server gets the data connections
	)
	// track registers c to be closed at the end; it reports false (and
	// closes c) when the end has come.
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			c.Close()
			return false
		}
		conns = append(conns, c)
		return true
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			fs := &Server{
				t:        t,
				Ctrl:     nc,
				r:        textproto.NewReader(bufio.NewReader(nc)),
				w:        bufio.NewWriter(nc),
				Data:     make(chan net.Conn, 4),
				epsvPort: dataLn.Addr().(*net.TCPAddr).Port,
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				nc.Close()
				return
			}
			conns = append(conns, nc)
			servers = append(servers, fs)
			current = fs
			wg.Add(1) // under mu: the end's Wait cannot have begun
			mu.Unlock()
			go func() {
				defer wg.Done()
				defer nc.Close()
				script(fs)
			}()
		}
	}()
	go func() {
		defer wg.Done()
		for {
			dc, err := dataLn.Accept()
			if err != nil {
				return
			}
			if !track(dc) {
				return
			}
			mu.Lock()
			fs := current
			mu.Unlock()
			if fs == nil {
				dc.Close()
				continue
			}
			select {
			case fs.Data <- dc:
			default:
				dc.Close() // nobody will ever take it
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		dataLn.Close()
		mu.Lock()
		closed = true
		for _, fs := range servers {
			fs.quiet.Store(true)
		}
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
