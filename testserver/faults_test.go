package testserver

import (
	"bytes"
	"testing"
	"time"

	"github.com/spf13/afero"
)

func TestCutAfter(t *testing.T) {
	t.Parallel()
	const cut = 50000
	content := randomBytes(500 * 1024)
	s := startServer(t, Options{Faults: Faults{CutAfter: []int64{cut}}})
	mustWrite(t, s, "f.bin", content)
	c := dialRaw(t, s.Addr())
	c.login()

	d := c.epsv()
	c.cmd(150, "RETR f.bin")
	got, err := readAll(d)
	code, msg := c.read()
	if code != 426 {
		t.Fatalf("final reply %d %q, want 426", code, msg)
	}
	if len(got) > cut {
		t.Fatalf("client got %d bytes, more than the cut at %d", len(got), cut)
	}
	if !bytes.Equal(got, content[:len(got)]) {
		t.Fatal("bytes before the cut differ")
	}
	if !isResetOrEOF(err) {
		t.Fatalf("data connection ended with %v, want a reset", err)
	}
	t.Logf("client got %d bytes, data error %v", len(got), err)
	if st := s.Stats(); st.BytesSent != cut {
		t.Fatalf("BytesSent = %d, want %d", st.BytesSent, cut)
	}

	// The queue entry was used: the next download is whole.
	d = c.epsv()
	c.cmd(150, "RETR f.bin")
	got, err = readAll(d)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("second download: %d bytes, err %v", len(got), err)
	}
	c.expect(226)
}

func TestCutAfterQueueAndSetFaults(t *testing.T) {
	t.Parallel()
	content := randomBytes(64 * 1024)
	s := startServer(t, Options{})
	mustWrite(t, s, "f.bin", content)
	s.SetFaults(Faults{CutAfter: []int64{1000, 20000}})
	c := dialRaw(t, s.Addr())
	c.login()
	for _, want := range []int64{1000, 20000} {
		before := s.Stats().BytesSent
		d := c.epsv()
		c.cmd(150, "RETR f.bin")
		got, _ := readAll(d)
		c.expect(426)
		if int64(len(got)) > want {
			t.Fatalf("got %d bytes, cut was %d", len(got), want)
		}
		if sent := s.Stats().BytesSent - before; sent != want {
			t.Fatalf("sent %d bytes, cut was %d", sent, want)
		}
	}
}

func TestUploadCutAfter(t *testing.T) {
	t.Parallel()
	const cut = 30000
	s := startServer(t, Options{Faults: Faults{UploadCutAfter: []int64{cut}}})
	c := dialRaw(t, s.Addr())
	c.login()
	d := c.epsv()
	c.cmd(150, "STOR up.bin")
	// Write from a goroutine: once reset, writes fail, which is the point.
	werr := make(chan error, 1)
	go func() {
		// Kernel buffers on loopback hold megabytes, so keep writing
		// until the reset shows.
		data := randomBytes(256 * 1024)
		for range 256 {
			if _, err := d.Write(data); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	c.expect(426)
	if err := <-werr; !isResetOrEOF(err) || err == nil {
		t.Fatalf("writing into a data connection reset at 30 kB: %v", err)
	}
	stored, err := afero.ReadFile(s.Fs(), "/up.bin")
	if err != nil || len(stored) != cut {
		t.Fatalf("stored %d bytes (err %v), want %d", len(stored), err, cut)
	}
	if st := s.Stats(); st.BytesReceived != cut {
		t.Fatalf("BytesReceived = %d", st.BytesReceived)
	}
}

func TestStallAfter(t *testing.T) {
	t.Parallel()
	const stall = 10000
	s := startServer(t, Options{Faults: Faults{StallAfter: stall}})
	mustWrite(t, s, "f.bin", randomBytes(100*1024))
	c := dialRaw(t, s.Addr())
	c.login()
	d := c.epsv()
	c.cmd(150, "RETR f.bin")
	buf := make([]byte, stall)
	d.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := readFull(d, buf); err != nil {
		t.Fatalf("reading the first %d bytes: %v", stall, err)
	}
	// Asserting silence needs a time window; nothing else can tell.
	d.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := d.Read(make([]byte, 10)); err == nil || n > 0 {
		t.Fatalf("stalled connection delivered %d more bytes (err %v)", n, err)
	}
	if code, msg, err := c.readTimeout(100 * time.Millisecond); err == nil {
		t.Fatalf("got reply %d %q while the transfer stalls", code, msg)
	}
	d.Close()
	c.expect(426)
	if st := s.Stats(); st.BytesSent != stall {
		t.Fatalf("BytesSent = %d", st.BytesSent)
	}
	c.cmd(257, "PWD")
}

func readFull(c interface{ Read([]byte) (int, error) }, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestIgnoreREST(t *testing.T) {
	t.Parallel()
	content := randomBytes(1000)
	s := startServer(t, Options{})
	mustWrite(t, s, "f.bin", content)
	c := dialRaw(t, s.Addr())
	c.login()

	// Control: a correct server honours REST.
	d := c.epsv()
	c.cmd(350, "REST 100")
	c.cmd(150, "RETR f.bin")
	got, err := readAll(d)
	c.expect(226)
	if err != nil || !bytes.Equal(got, content[100:]) {
		t.Fatalf("with REST honoured: %d bytes, err %v", len(got), err)
	}

	s.SetFaults(Faults{IgnoreREST: true})
	d = c.epsv()
	c.cmd(350, "REST 100")
	c.cmd(150, "RETR f.bin")
	got, err = readAll(d)
	c.expect(226)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("with IgnoreREST: %d bytes, err %v; want the whole file", len(got), err)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	const size, rate = 60 * 1024, 200 * 1024
	s := startServer(t, Options{Faults: Faults{RateLimit: rate}})
	mustWrite(t, s, "f.bin", randomBytes(size))
	c := dialRaw(t, s.Addr())
	c.login()
	d := c.epsv()
	start := time.Now()
	c.cmd(150, "RETR f.bin")
	got, err := readAll(d)
	el := time.Since(start)
	c.expect(226)
	if err != nil || len(got) != size {
		t.Fatalf("got %d bytes, err %v", len(got), err)
	}
	// 60 KiB at 200 KiB/s with a 10 KiB burst takes about 0.25 s.
	if el < 200*time.Millisecond {
		t.Fatalf("download took %v: not rate limited", el)
	}
}

func TestClientClosesDataEarly(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{Faults: Faults{RateLimit: 100 * 1024}})
	mustWrite(t, s, "f.bin", randomBytes(200*1024))
	c := dialRaw(t, s.Addr())
	c.login()
	d := c.epsv()
	c.cmd(150, "RETR f.bin")
	if _, err := readFull(d, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	d.Close()
	// Like vsftpd, proftpd and pyftpdlib.
	c.expect(426)
}
