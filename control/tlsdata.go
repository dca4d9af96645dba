package control

import (
	"crypto/tls"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// tlsData is a protected data connection. Closing a finished upload ends
// TLS cleanly, because servers judge an upload by how it ends:
//
//   - a close without close_notify is a truncation to them (vsftpd answers
//     426 "Failure reading network stream" and keeps part of the file);
//   - a TLS 1.3 server sends session tickets after the handshake, which an
//     upload never reads; closing a socket with unread bytes sends a reset,
//     and a reset makes the server's kernel drop data it had not read yet
//     (pyftpdlib then keeps a short file and reports success).
//
// So the first Close of an upload whose writes all succeeded sends
// close_notify (CloseWrite) and returns; a goroutine then reads and
// discards what the server still sends (tickets, its own close_notify)
// until the server's side ends, bounded by the timeout, and only then
// closes the socket. A later Close (the transfer's End, after the final
// reply: the server has all the data) or Abort ends that wait at once. A
// download, an upload whose write failed or is still running, and every
// abort close at once.
type tlsData struct {
	*tls.Conn
	timeout    time.Duration
	upload     bool
	offered    bool // the control connection's session was offered
	resumed    bool // and the server resumed it
	ticketsOff bool // the TLS config disables session tickets

	writing  atomic.Int32 // Writes in progress
	writeErr atomic.Bool  // a Write failed: the stream is broken anyway

	mu      sync.Mutex
	closed  bool
	drained chan struct{} // closed when the drain goroutine ended; nil if none
}

func newTLSData(c *tls.Conn, timeout time.Duration, upload bool) *tlsData {
	return &tlsData{Conn: c, timeout: timeout, upload: upload}
}

func (d *tlsData) Write(p []byte) (int, error) {
	d.writing.Add(1)
	defer d.writing.Add(-1)
	n, err := d.Conn.Write(p)
	if err != nil {
		d.writeErr.Store(true)
	}
	return n, err
}

// SetReadLowWater asks the kernel to wake a Read waiting for data only
// once n bytes are queued on the socket (or at its end), so that a reader
// faster than the server decrypts many records per wake-up instead of one:
// each wake-up of a Go reader costs a scheduler round trip. The caller
// lowers it again (n = 1) when data stops coming, so that the last bytes
// before a pause are not held back. An error means it is not offered (not
// Linux, not TCP).
func (d *tlsData) SetReadLowWater(n int) error {
	sc, ok := d.NetConn().(syscall.Conn)
	if !ok {
		return errors.ErrUnsupported
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	return setReadLowWater(rc, n)
}

// Close ends the connection: cleanly the first time for a finished upload
// (see tlsData), at once otherwise.
func (d *tlsData) Close() error {
	d.mu.Lock()
	if d.closed {
		drained := d.drained
		d.mu.Unlock()
		d.hardClose(drained)
		return nil
	}
	d.closed = true
	clean := d.upload && d.writing.Load() == 0 && !d.writeErr.Load()
	if !clean {
		d.mu.Unlock()
		return d.Conn.Close()
	}
	d.drained = make(chan struct{})
	d.mu.Unlock()
	// close_notify: bounded by crypto/tls's own 5 s write deadline. The
	// drain's deadline is set here, before a later Close can cut it short.
	err := d.Conn.CloseWrite()
	d.Conn.SetReadDeadline(time.Now().Add(d.timeout))
	go d.drain()
	return err
}

// abort closes at once, whatever was written.
func (d *tlsData) abort() {
	d.mu.Lock()
	first := !d.closed
	d.closed = true
	drained := d.drained
	d.mu.Unlock()
	if first {
		d.NetConn().Close()
		return
	}
	d.hardClose(drained)
}

// hardClose closes the socket, which ends a drain in progress, and waits
// for the drain to be over.
func (d *tlsData) hardClose(drained chan struct{}) {
	d.NetConn().Close()
	if drained != nil {
		<-drained
	}
}

// drain reads until the server's side ends (its close_notify, its close,
// an error) or the timeout passes, then closes the socket.
func (d *tlsData) drain() {
	defer close(d.drained)
	defer d.NetConn().Close()
	buf := make([]byte, 4<<10)
	for {
		if _, err := d.Conn.Read(buf); err != nil { // io.EOF after the server's close_notify
			return
		}
	}
}

// abortData closes a transfer's data connection at once, without the
// clean end of a finished upload.
func abortData(c interface{ Close() error }) {
	if d, ok := c.(*tlsData); ok {
		d.abort()
		return
	}
	c.Close()
}
