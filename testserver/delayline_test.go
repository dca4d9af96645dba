package testserver

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jlaffaye/ftp"
)

// A delay line delivers every write delay later, in order, and many writes
// in flight together arrive together: latency, not a bandwidth cap.
func TestDelayLineLatencyNotThrottle(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const delay = 100 * time.Millisecond
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		l := newDelayLine(a, delay)
		defer l.close()

		type arrival struct {
			at   time.Duration
			data []byte
		}
		start := time.Now()
		got := make(chan arrival, 2000)
		go func() {
			buf := make([]byte, 64<<10)
			for {
				n, err := b.Read(buf)
				if n > 0 {
					got <- arrival{time.Since(start), bytes.Clone(buf[:n])}
				}
				if err != nil {
					close(got)
					return
				}
			}
		}()

		// Three small writes 10 ms apart: each arrives delay after it was written.
		for i := range 3 {
			if _, err := l.Write([]byte{byte('a' + i)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		for i := range 3 {
			a := <-got
			want := delay + time.Duration(i)*10*time.Millisecond
			if a.at != want || string(a.data) != string(rune('a'+i)) {
				t.Fatalf("write %d: %q at %v, want %q at %v", i, a.data, a.at, string(rune('a'+i)), want)
			}
		}

		// 8 MiB written at once is all there one delay later, not 256 delays
		// later (one per 32 KiB chunk), and in order.
		big := randomBytes(8 << 20)
		t0 := time.Since(start)
		if _, err := l.Write(big); err != nil {
			t.Fatal(err)
		}
		var recv []byte
		var last time.Duration
		for len(recv) < len(big) {
			a := <-got
			recv = append(recv, a.data...)
			last = a.at
		}
		if !bytes.Equal(recv, big) {
			t.Fatal("data reordered or corrupted")
		}
		if last != t0+delay {
			t.Fatalf("8 MiB arrived by %v after it was written, want exactly %v", last-t0, delay)
		}
	})
}

// A rate-capped direction of a data flow moves no faster than its cap.
func TestDirectionRateCap(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		go io.Copy(io.Discard, b)
		m := &Middlebox{opts: MiddleboxOptions{DataRate: 1 << 20}}
		f := &mbFlow{sess: &mbSession{m: m}, gone: make(chan struct{})}
		d := f.direction(a)
		start := time.Now()
		buf := make([]byte, mbBufSize)
		total := 0
		for total < 4<<20 {
			if !d.pace(len(buf), f.gone) {
				t.Fatal("pace gave up")
			}
			if err := d.write(buf); err != nil {
				t.Fatal(err)
			}
			total += len(buf)
		}
		// The burst (one read) goes at once; the rest at 1 MiB/s.
		took := time.Since(start)
		want := time.Duration(float64(total-d.lim.Burst()) / float64(1<<20) * float64(time.Second))
		if took < want-time.Millisecond || took > want+time.Millisecond {
			t.Fatalf("4 MiB at 1 MiB/s took %v, want %v", took, want)
		}
		close(f.gone)
		if d.pace(1<<20, f.gone) {
			t.Fatal("pace went on after the flow ended")
		}
	})
}

// Through a middlebox with Delay, a command's round trip takes at least
// two delays (one each way), and a download arrives intact.
func TestMiddleboxDelay(t *testing.T) {
	t.Parallel()
	const delay = 40 * time.Millisecond
	content := randomBytes(3 << 20)
	s := startServer(t, Options{})
	mustWrite(t, s, "f.bin", content)
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr(), Delay: delay, DataRate: 64 << 20, DataCutAfter: []int64{-1, 1 << 20}})
	c := dialRaw(t, m.Addr())
	c.login()
	start := time.Now()
	c.cmd(200, "NOOP")
	// A lower bound only: the delay is what the middlebox adds, and a
	// loaded machine can only make the round trip longer.
	if rtt := time.Since(start); rtt < 2*delay {
		t.Fatalf("NOOP round trip %v through a %v-each-way middlebox", rtt, delay)
	}
	d := c.epsv()
	c.cmd(150, "RETR f.bin")
	got, err := readAll(d)
	c.expect(226)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("got %d bytes (err %v), want %d intact", len(got), err, len(content))
	}
	// A cut with a delay comes after the bytes before it were delivered.
	d = c.epsv()
	c.cmd(150, "RETR f.bin")
	got, err = readAll(d)
	if !isResetOrEOF(err) || len(got) > 1<<20 || !bytes.Equal(got, content[:len(got)]) {
		t.Fatalf("cut flow: %d bytes, err %v", len(got), err)
	}
	// 426, or 226 if the server had handed the whole file to its kernel.
	if code, msg := c.read(); code != 426 && code != 226 {
		t.Fatalf("after the cut: %d %s", code, msg)
	}
}

// jlaffaye/ftp works through a delayed middlebox too (PASV rewriting with
// delayed replies).
func TestMiddleboxDelayWithJlaffaye(t *testing.T) {
	t.Parallel()
	content := randomBytes(200 << 10)
	s := startServer(t, Options{})
	mustWrite(t, s, "f.bin", content)
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr(), Delay: 5 * time.Millisecond})
	c, err := ftp.Dial(m.Addr(), ftp.DialWithTimeout(5*time.Second), ftp.DialWithContext(ctxTimeout(t, 30*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit()
	if err := c.Login("anonymous", "x"); err != nil {
		t.Fatal(err)
	}
	r, err := c.Retr("f.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("got %d bytes, err %v", len(got), err)
	}
	if _, err := m.WaitStats(context.Background(), func(st MiddleboxStats) bool { return st.DataBytes == int64(len(content)) }); err != nil {
		t.Fatal(err)
	}
}
