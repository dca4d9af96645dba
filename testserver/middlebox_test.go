package testserver

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
)

func startMiddlebox(t *testing.T, opts MiddleboxOptions) *Middlebox {
	t.Helper()
	m, err := NewMiddlebox(opts)
	if err != nil {
		t.Fatalf("NewMiddlebox: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMiddleboxForwardsDataPASVAndEPSV(t *testing.T) {
	t.Parallel()
	content := randomBytes(700 * 1024)
	s := startServer(t, Options{})
	mustWrite(t, s, "f.bin", content)
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr()})
	c := dialRaw(t, m.Addr())
	c.login()
	for _, mode := range []string{"PASV", "EPSV"} {
		var d net.Conn
		if mode == "PASV" {
			d = c.pasv()
		} else {
			d = c.epsv()
		}
		// The reply was rewritten: the data connection goes to the middlebox.
		if got, srv := d.RemoteAddr().String(), s.Addr(); strings.Split(got, ":")[1] == strings.Split(srv, ":")[1] {
			t.Fatalf("%s data went to %s", mode, got)
		}
		c.cmd(150, "RETR f.bin")
		got, err := readAll(d)
		c.expect(226)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("%s: got %d bytes, err %v", mode, len(got), err)
		}
	}
	// An upload through the middlebox too.
	d := c.epsv()
	c.cmd(150, "STOR up.bin")
	up := randomBytes(123457)
	if _, err := d.Write(up); err != nil {
		t.Fatal(err)
	}
	d.Close()
	c.expect(226)
	st := m.Stats()
	if st.Sessions != 1 || st.DataFlows != 3 || st.DataBytes != int64(2*len(content)+len(up)) || st.Expired != 0 {
		t.Fatalf("middlebox stats %+v", st)
	}
	if s.Stats().BytesReceived != int64(len(up)) {
		t.Fatalf("server received %d", s.Stats().BytesReceived)
	}
}

func TestMiddleboxWithJlaffaye(t *testing.T) {
	t.Parallel()
	content := randomBytes(100 * 1024)
	s := startServer(t, Options{})
	mustWrite(t, s, "f.bin", content)
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr()})
	for _, noEPSV := range []bool{false, true} {
		c, err := ftp.Dial(m.Addr(), ftp.DialWithTimeout(5*time.Second), ftp.DialWithDisabledEPSV(noEPSV))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login("anonymous", "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.List("/"); err != nil {
			t.Fatal(err)
		}
		r, err := c.Retr("f.bin")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("got %d bytes, err %v", len(got), err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		c.Quit()
	}
}

func TestMiddleboxBlackholeIdle(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})
	const idle = 300 * time.Millisecond
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr(), IdleTimeout: idle})

	var wg sync.WaitGroup
	wg.Add(1)
	// A session that keeps talking every 100 ms never expires.
	go func() {
		defer wg.Done()
		c := dialRaw(t, m.Addr())
		c.login()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for range 8 {
			<-tick.C
			c.send("NOOP")
			if code, msg, err := c.readTimeout(time.Second); err != nil || code != 200 {
				t.Errorf("keepalive NOOP: %d %q %v", code, msg, err)
				return
			}
		}
	}()

	c := dialRaw(t, m.Addr())
	c.login()
	silentSince := time.Now()
	st, err := m.WaitStats(ctxTimeout(t, 3*time.Second), func(st MiddleboxStats) bool { return st.Expired >= 1 })
	if err != nil {
		t.Fatalf("no expiry: %+v", st)
	}
	if el := time.Since(silentSince); el < idle {
		t.Fatalf("expired after %v of silence, before the %v timeout", el, idle)
	}
	c.send("NOOP")
	if code, msg, err := c.readTimeout(400 * time.Millisecond); err == nil {
		t.Fatalf("blackholed flow delivered %d %q", code, msg)
	} else if !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("blackholed flow should stay open and silent, got %v", err)
	}
	wg.Wait()
	if st := m.Stats(); st.Expired != 1 || st.Sessions != 2 {
		t.Fatalf("stats %+v: the chatty session must not expire", st)
	}
}

func TestMiddleboxResetIdle(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr(), IdleTimeout: 200 * time.Millisecond, Mode: ExpireReset})
	c := dialRaw(t, m.Addr())
	c.login()
	if _, err := m.WaitStats(ctxTimeout(t, 3*time.Second), func(st MiddleboxStats) bool { return st.Expired >= 1 }); err != nil {
		t.Fatal("no expiry")
	}
	_, _, err := c.readTimeout(2 * time.Second)
	if err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("want a reset or EOF, got %v", err)
	}
	if !isResetOrEOF(err) {
		t.Fatalf("want a reset or EOF, got %v", err)
	}
	// The server side was reset too, so the server sees the client leave.
	if _, err := s.WaitStats(ctxTimeout(t, 3*time.Second), func(st Stats) bool { return st.ActiveConns == 0 }); err != nil {
		t.Fatal("server still has the connection")
	}
}

// TestMiddleboxDataOutlivesExpiredControl: a download longer than the idle
// timeout completes on its data flow while the silent control flow is
// blackholed, so the 226 is lost: the field failure keepftp exists for.
func TestMiddleboxDataOutlivesExpiredControl(t *testing.T) {
	t.Parallel()
	content := randomBytes(100 * 1024)
	s := startServer(t, Options{Faults: Faults{RateLimit: 200 * 1024}})
	mustWrite(t, s, "f.bin", content)
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr(), IdleTimeout: 200 * time.Millisecond})
	c := dialRaw(t, m.Addr())
	c.login()
	d := c.epsv()
	c.cmd(150, "RETR f.bin")
	got, err := readAll(d)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("data: %d bytes, err %v", len(got), err)
	}
	if m.Stats().Expired != 1 {
		t.Fatalf("control flow did not expire during a 0.5 s transfer: %+v", m.Stats())
	}
	if code, msg, err := c.readTimeout(300 * time.Millisecond); err == nil {
		t.Fatalf("got %d %q through an expired control flow", code, msg)
	}
}

func TestMiddleboxDataCutAfter(t *testing.T) {
	t.Parallel()
	const cut = 40000
	content := randomBytes(300 * 1024)
	// Rate limited so the server is still writing when the middlebox
	// resets the flow; an unlimited server could have handed the whole
	// file to the kernel already and would rightly report 226.
	s := startServer(t, Options{Faults: Faults{RateLimit: 1 << 20}})
	mustWrite(t, s, "f.bin", content)
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr(), DataCutAfter: []int64{cut}})
	c := dialRaw(t, m.Addr())
	c.login()
	d := c.epsv()
	c.cmd(150, "RETR f.bin")
	got, err := readAll(d)
	if len(got) > cut || !bytes.Equal(got, content[:len(got)]) {
		t.Fatalf("got %d bytes through a flow cut at %d", len(got), cut)
	}
	if !isResetOrEOF(err) {
		t.Fatalf("data error %v", err)
	}
	c.expect(426)
	if st := m.Stats(); st.DataBytes != cut {
		t.Fatalf("DataBytes = %d, want %d", st.DataBytes, cut)
	}
	// The next flow is not cut.
	d = c.epsv()
	c.cmd(150, "RETR f.bin")
	got, err = readAll(d)
	c.expect(226)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("second download: %d bytes, err %v", len(got), err)
	}
}

// TestMiddleboxDataStallAfter: the stalled flow delivers its bytes up to
// the stall and then nothing, its socket still open; when the client
// gives up and closes, the server's side is closed too, and the next flow
// is not stalled.
func TestMiddleboxDataStallAfter(t *testing.T) {
	const stall = 40000
	content := randomBytes(300 * 1024)
	s := startServer(t, Options{Faults: Faults{RateLimit: 1 << 20}})
	mustWrite(t, s, "f.bin", content)
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr(), DataStallAfter: []int64{stall}})
	c := dialRaw(t, m.Addr())
	c.login()
	d := c.epsv()
	c.cmd(150, "RETR f.bin")
	got := make([]byte, 0, len(content))
	buf := make([]byte, 32<<10)
	var err error
	for {
		d.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		var n int
		n, err = d.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() || len(got) != stall || !bytes.Equal(got, content[:stall]) {
		t.Fatalf("got %d bytes and %v through a flow stalled at %d; want exactly those bytes, then silence", len(got), err, stall)
	}
	d.Close()
	// The final reply: 426, or 226 when the file fit in the socket
	// buffers before the stall held them.
	if code, msg, err := c.readTimeout(5 * time.Second); err != nil || code != 426 && code != 226 {
		t.Fatalf("final reply %d %q, %v", code, msg, err)
	}
	d = c.epsv()
	c.cmd(150, "RETR f.bin")
	got, err = readAll(d)
	c.expect(226)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("second download: %d bytes, err %v", len(got), err)
	}
}

func TestMiddleboxBlackholeAfterDataEOF(t *testing.T) {
	t.Parallel()
	content := randomBytes(200 * 1024)
	s := startServer(t, Options{})
	mustWrite(t, s, "f.bin", content)
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr()})
	c := dialRaw(t, m.Addr())
	c.login()
	// A listing first: counting starts at the arm call, so it is not counted.
	d := c.epsv()
	c.cmd(150, "LIST")
	readAll(d)
	c.expect(226)

	m.BlackholeAfterDataEOF(1)
	d = c.epsv()
	c.cmd(150, "RETR f.bin")
	got, err := readAll(d)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("data: %d bytes, err %v", len(got), err)
	}
	// The server did send its 226 ...
	if code, msg, err := c.readTimeout(500 * time.Millisecond); err == nil {
		t.Fatalf("final reply %d %q got through", code, msg)
	}
	if st := m.Stats(); st.Expired != 0 {
		t.Fatalf("the trap is not an idle expiry: %+v", st)
	}
	// ... and other sessions are unaffected.
	c2 := dialRaw(t, m.Addr())
	c2.login()
	d = c2.epsv()
	c2.cmd(150, "RETR f.bin")
	got, err = readAll(d)
	c2.expect(226)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("other session: %d bytes, err %v", len(got), err)
	}
}
