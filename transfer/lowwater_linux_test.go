package transfer

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// markedConn is a TLS client connection that sets SO_RCVLOWAT on its
// socket as control's data connections do, and records each mark.
type markedConn struct {
	*tls.Conn
	raw *net.TCPConn

	mu    sync.Mutex
	marks []int
}

func (c *markedConn) SetReadLowWater(n int) error {
	rc, err := c.raw.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
	}); err != nil {
		return err
	}
	c.mu.Lock()
	c.marks = append(c.marks, n)
	c.mu.Unlock()
	return serr
}

func (c *markedConn) recorded() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.marks)
}

// A fast TLS download raises the socket's low-water mark, and when the
// data then pauses with fewer bytes queued than the mark (a server that
// waits for the client before it goes on or closes), the mark comes down
// and those bytes are read: the pump does not wait for more. Without the
// idle check the pump would wait for the rest forever.
func TestLowWaterComesDownWhenDataPauses(t *testing.T) {
	t.Parallel()
	cfg, roots, err := testserver.SelfSignedTLS("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const head, tail = 16 << 20, 10 << 10 // the tail is far below the mark
	payload := ftptest.RandomBytes(head + tail + head)
	goOn := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		sc := tls.Server(c, cfg)
		if _, err := sc.Write(payload[:head+tail]); err != nil {
			served <- err
			return
		}
		<-goOn // paused, the connection open
		_, err = sc.Write(payload[head+tail:])
		if err == nil {
			err = sc.Close()
		}
		served <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	src := &markedConn{Conn: tls.Client(raw, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}), raw: raw.(*net.TCPConn)}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	p := newPump()
	p.lwFast = time.Hour // every window counts as fast: the mark goes up
	go p.run(t.Context(), f, src, nil, 5*time.Second, true, -1, false)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for p.moved.Load() < head+tail {
		select {
		case <-p.notify:
		case err := <-p.done:
			t.Fatalf("the pump ended before the pause: %v", err)
		case <-ctx.Done():
			t.Fatalf("the pump got %d of the %d bytes before the pause (marks %v): the tail waited for the mark", p.moved.Load(), head+tail, src.recorded())
		}
	}
	close(goOn)
	if err := <-p.done; err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(f.Name())
	if !bytes.Equal(got, payload) {
		t.Fatalf("file holds %d bytes, want the %d sent", len(got), len(payload))
	}
	marks := src.recorded()
	if len(marks) < 2 || marks[0] < lowWaterMin || marks[0] > lowWaterMax || !slices.Contains(marks, 1) {
		t.Fatalf("marks set %v, want one within [%d, %d] then 1", marks, lowWaterMin, lowWaterMax)
	}
	t.Logf("marks %v", marks)
}
