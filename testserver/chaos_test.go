package testserver

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// The draws depend on the seed, the command and its occurrence only: the
// same attempt of the same file meets the same fault whatever the order
// of the flows.
func TestChaosDrawsAreKeyed(t *testing.T) {
	c := &Chaos{Seed: 7, Cut: 0.3, Stall: 0.1, Pause: 0.2, Expire: 0.2, Within: 1 << 20}
	kinds := map[dataFault]int{}
	for i := range 400 {
		cmd := "RETR /f" + string(rune('a'+i%26))
		k1, at1, p1 := c.dataDraw(cmd, int64(i/26))
		k2, at2, p2 := c.dataDraw(cmd, int64(i/26))
		if k1 != k2 || at1 != at2 || p1 != p2 {
			t.Fatalf("%s #%d drew %v@%d/%v, then %v@%d/%v", cmd, i/26, k1, at1, p1, k2, at2, p2)
		}
		if k1 != faultNone && (at1 < 0 || at1 >= c.Within) {
			t.Fatalf("%s: fault at %d, outside [0, %d)", cmd, at1, c.Within)
		}
		kinds[k1]++
	}
	// 400 draws at 30/10/20/40 %: every kind shows up, none dominates.
	for k, want := range map[dataFault]int{faultCut: 120, faultStall: 40, faultPause: 80, faultNone: 160} {
		if got := kinds[k]; got < want/2 || got > want*2 {
			t.Errorf("fault %d drawn %d times in 400, want about %d", k, got, want)
		}
	}
	all := &Chaos{Seed: 7, Cut: 1, Within: 1 << 20}
	other := &Chaos{Seed: 8, Cut: 1, Within: 1 << 20}
	same := 0
	for i := range 50 {
		_, a, _ := all.dataDraw("RETR /x", int64(i))
		_, b, _ := other.dataDraw("RETR /x", int64(i))
		if a == b {
			same++
		}
	}
	if same > 5 {
		t.Errorf("seeds 7 and 8 drew the same byte count %d times in 50", same)
	}
}

// chaosRetr downloads f.bin through a middlebox with c and returns what
// arrived, the read's error and the middlebox.
func chaosRetr(t *testing.T, c Chaos, content []byte) ([]byte, error, *Middlebox, *rawClient) {
	t.Helper()
	s := startServer(t, Options{})
	mustWrite(t, s, "f.bin", content)
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr(), Chaos: &c})
	rc := dialRaw(t, m.Addr())
	rc.login()
	d := rc.epsv()
	rc.cmd(150, "RETR f.bin")
	var got []byte
	buf := make([]byte, 32<<10)
	var err error
	for {
		d.SetReadDeadline(time.Now().Add(time.Second))
		var n int
		n, err = d.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	d.Close()
	return got, err, m, rc
}

func TestChaosCut(t *testing.T) {
	content := randomBytes(300 << 10)
	got, err, m, _ := chaosRetr(t, Chaos{Seed: 1, Cut: 1, Within: 200 << 10}, content)
	st := m.Stats().Chaos
	if st.Cuts != 1 || st.Total() != 1 {
		t.Fatalf("chaos stats %+v, want one cut", st)
	}
	if len(got) >= 200<<10 || !bytes.Equal(got, content[:len(got)]) || !isResetOrEOF(err) || err == nil {
		t.Fatalf("got %d bytes (a prefix: %v), then %v; want a prefix shorter than 200 KiB, then a reset",
			len(got), bytes.Equal(got, content[:len(got)]), err)
	}
}

func TestChaosStall(t *testing.T) {
	content := randomBytes(300 << 10)
	got, err, m, rc := chaosRetr(t, Chaos{Seed: 1, Stall: 1, Within: 200 << 10, StallHold: time.Minute}, content)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() || len(got) >= 200<<10 || !bytes.Equal(got, content[:len(got)]) {
		t.Fatalf("got %d bytes, then %v; want a prefix, then silence", len(got), err)
	}
	if st := m.Stats().Chaos; st.Stalls != 1 || st.Total() != 1 {
		t.Fatalf("chaos stats %+v, want one stall", st)
	}
	// The client gave up (closed its side): the server hears of it, long
	// before the hold time.
	if code, msg, err := rc.readTimeout(10 * time.Second); err != nil || code != 426 && code != 226 {
		t.Fatalf("final reply %d %q, %v", code, msg, err)
	}
}

func TestChaosPause(t *testing.T) {
	content := randomBytes(300 << 10)
	got, err, m, rc := chaosRetr(t, Chaos{Seed: 1, Pause: 1, Within: 200 << 10, MaxPause: 300 * time.Millisecond}, content)
	if err == nil || !isResetOrEOF(err) || !bytes.Equal(got, content) {
		t.Fatalf("got %d bytes (want %d), then %v: a pause must lose nothing", len(got), len(content), err)
	}
	rc.expect(226)
	if st := m.Stats().Chaos; st.Pauses != 1 || st.Total() != 1 {
		t.Fatalf("chaos stats %+v, want one pause", st)
	}
}

// Expire drops the transfer command and loses the control flow; the
// middlebox still counts the command.
func TestChaosExpire(t *testing.T) {
	s := startServer(t, Options{})
	mustWrite(t, s, "f.bin", randomBytes(1000))
	c := Chaos{Seed: 3, Expire: 1, StallHold: time.Minute}
	m := startMiddlebox(t, MiddleboxOptions{Target: s.Addr(), Chaos: &c})
	rc := dialRaw(t, m.Addr())
	rc.login()
	rc.cmd(200, "TYPE I")
	rc.send("RETR f.bin")
	if code, msg, err := rc.readTimeout(time.Second); err == nil {
		t.Fatalf("reply %d %q through a lost control flow", code, msg)
	}
	if st := m.Stats(); st.Chaos.Expiries != 1 || st.Chaos.Total() != 1 {
		t.Fatalf("stats %+v, want one expiry", st)
	}
	if n := m.Commands()["RETR"]; n != 1 {
		t.Fatalf("RETR counted %d times, want 1", n)
	}
	if s.Stats().Downloads != 0 {
		t.Fatalf("the server got the RETR")
	}
	// Off: the next session goes through.
	m.SetChaos(nil)
	rc2 := dialRaw(t, m.Addr())
	rc2.login()
	d := rc2.epsv()
	rc2.cmd(150, "RETR f.bin")
	if got, err := readAll(d); err != nil || len(got) != 1000 {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	rc2.expect(226)
	if n := m.Commands()["RETR"]; n != 2 || s.Stats().Downloads != 1 || m.Stats().Chaos.Total() != 1 {
		t.Fatalf("RETR counted %d times (want 2), the server got %d (want 1), chaos %+v", n, s.Stats().Downloads, m.Stats().Chaos)
	}
}
