package transfer

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dataReset sees a reset the kernel took on a connection nobody has read
// yet, and only a reset: an open connection, and one the peer closed with
// a FIN (a server ending its data), are not reset.
func TestDataResetSeesTheKernelsState(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pair := func() (client, server *net.TCPConn) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.TCPConn), s.(*net.TCPConn)
	}
	// settle waits, bounded, for the kernel to take what the peer sent.
	settle := func(c *net.TCPConn, want bool) bool {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if dataReset(c) == want {
				return true
			}
		}
		return false
	}

	open, peer := pair()
	defer open.Close()
	defer peer.Close()
	if _, err := peer.Write(make([]byte, 64<<10)); err != nil { // unread data: still not a reset
		t.Fatal(err)
	}
	if dataReset(open) {
		t.Error("an open connection with unread data is taken for reset")
	}

	finned, server := pair()
	defer finned.Close()
	server.Write(make([]byte, 1000))
	server.Close() // FIN: the peer ended the data itself
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if info := tcpInfo(finned); info != nil && info.State == unix.BPF_TCP_CLOSE_WAIT {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the peer's FIN never arrived")
		}
	}
	if dataReset(finned) {
		t.Error("a connection the peer closed (FIN) is taken for reset")
	}

	reset, server := pair()
	defer reset.Close()
	server.Write(make([]byte, 1000))
	server.SetLinger(0)
	server.Close() // RST, as a middlebox's cut
	if !settle(reset, true) {
		t.Fatal("a reset connection, not yet read, is not seen as reset")
	}
	// The pump would still read the data that came before the reset.
	if n, _ := reset.Read(make([]byte, 4096)); n != 1000 {
		t.Errorf("read %d bytes before the reset's error, want 1000", n)
	}
}
