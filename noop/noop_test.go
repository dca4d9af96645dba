package noop

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestIntervalIsQuarterOfTimeout(t *testing.T) {
	for _, to := range []time.Duration{4 * time.Second, time.Minute, 2 * time.Minute} {
		if got := Interval(to); got*4 != to {
			t.Errorf("Interval(%v) = %v, want %v", to, got, to/4)
		}
	}
}

// fakePinger records when NOOPs were sent, in virtual time.
type fakePinger struct {
	mu    sync.Mutex
	last  time.Time
	sent  []time.Time
	fails error
}

func (p *fakePinger) Noop(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fails != nil {
		return p.fails
	}
	p.last = time.Now()
	p.sent = append(p.sent, p.last)
	return nil
}

func (p *fakePinger) LastSent() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

func (p *fakePinger) write() { // another command written
	p.mu.Lock()
	p.last = time.Now()
	p.mu.Unlock()
}

func TestKeepIdleSendsEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePinger{last: time.Now()}
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 61*time.Second)
		defer cancel()
		s := Schedule{Every: Interval(60 * time.Second)}
		if err := KeepIdle(ctx, p, s); err != nil {
			t.Fatal(err)
		}
		if len(p.sent) != 4 {
			t.Fatalf("sent %d NOOPs in 61s, want 4", len(p.sent))
		}
		for i, at := range p.sent {
			if want := time.Duration(i+1) * 15 * time.Second; at.Sub(start) != want {
				t.Errorf("NOOP %d at %v, want %v", i, at.Sub(start), want)
			}
		}
	})
}

func TestKeepIdleCountsOtherCommandsAsActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePinger{last: time.Now()}
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 29*time.Second)
		defer cancel()
		go func() {
			time.Sleep(10 * time.Second)
			p.write()
		}()
		KeepIdle(ctx, p, Schedule{Every: 15 * time.Second})
		if len(p.sent) != 1 || p.sent[0].Sub(start) != 25*time.Second {
			t.Errorf("sent at %v, want one NOOP at 25s (15s after the command at 10s)", p.sent)
		}
	})
}

func TestKeepIdleReturnsWhenNoopFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gone := errors.New("gone")
		p := &fakePinger{last: time.Now(), fails: gone}
		if err := KeepIdle(t.Context(), p, Schedule{Every: time.Second}); !errors.Is(err, gone) {
			t.Errorf("err = %v, want the NOOP's error", err)
		}
	})
}

func TestKeepIdleOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePinger{last: time.Now()}
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		KeepIdle(ctx, p, Schedule{})
		if len(p.sent) != 0 {
			t.Errorf("keepalive off sent %d NOOPs", len(p.sent))
		}
	})
}

func TestRegistryLearnsBehaviour(t *testing.T) {
	for _, tc := range []struct {
		o    Observation
		want Behaviour
	}{
		{Observation{Sent: 3, During: []int{200, 200, 200}}, AtOnce},
		{Observation{Sent: 3, After: 3}, AfterFinal},
		{Observation{Sent: 3, During: []int{500}}, WithError},
		{Observation{Sent: 9, After: 1}, Lost},
	} {
		var r Registry
		r.Observe("h:21", tc.o)
		if got := r.Behaviour("h:21"); got != tc.want {
			t.Errorf("%+v: behaviour %v, want %v", tc.o, got, tc.want)
		}
		if !r.InTransfer("h:21") {
			t.Errorf("%+v: in-transfer NOOPs disabled", tc.o)
		}
	}
}

func TestRegistryStopsNoopsForServerThatAborts(t *testing.T) {
	var logs []string
	r := Registry{Logf: func(f string, a ...any) { logs = append(logs, f) }}
	r.Observe("bad:21", Observation{Sent: 1, Abort: true})
	if !r.InTransfer("bad:21") {
		t.Fatal("disabled after one abort, which may be a coincidence")
	}
	r.Observe("bad:21", Observation{Sent: 1, Abort: true})
	if r.InTransfer("bad:21") || r.Begin("bad:21").Noops {
		t.Fatal("still sending NOOPs to a server that aborted twice in a row")
	}
	r.Observe("bad:21", Observation{Sent: 1, Abort: true})
	r.Observe("bad:21", Observation{Sent: 2, During: []int{200, 200}}) // answers, but no clean transfer
	if r.InTransfer("bad:21") || r.Behaviour("bad:21") != Aborts {
		t.Error("answers without a clean transfer re-enabled NOOPs")
	}
	if len(logs) != 1 {
		t.Errorf("logged %d times, want once", len(logs))
	}
	if !r.InTransfer("good:21") {
		t.Error("another server affected")
	}
	// A transfer that started before the verdict and completed with NOOPs
	// that reached the server contradicts it.
	r.Observe("bad:21", Observation{Sent: 2, After: 2, Clean: true})
	if !r.InTransfer("bad:21") || r.Behaviour("bad:21") != AfterFinal {
		t.Errorf("a clean transfer with NOOPs did not clear the abort: behaviour %v", r.Behaviour("bad:21"))
	}
}

func TestRegistryAbortsResetByCleanTransfer(t *testing.T) {
	var r Registry
	r.Observe("h:21", Observation{Sent: 1, Abort: true})
	r.Observe("h:21", Observation{Sent: 4, After: 4, Clean: true})
	r.Observe("h:21", Observation{Sent: 1, Abort: true})
	if !r.InTransfer("h:21") {
		t.Error("two aborts separated by a clean transfer disabled NOOPs")
	}
}

// TestRegistryFailuresTeachNothing: transfers that failed for a reason of
// the path (stalls, resets, lost connections: Abort false, Clean false)
// neither count towards an abort nor clear one.
func TestRegistryFailuresTeachNothing(t *testing.T) {
	var r Registry
	for range 10 {
		r.Observe("h:21", Observation{Sent: 3})
	}
	if !r.InTransfer("h:21") || r.Behaviour("h:21") != Unknown {
		t.Errorf("failed transfers taught %v", r.Behaviour("h:21"))
	}
	r.Observe("h:21", Observation{Sent: 1, Abort: true})
	r.Observe("h:21", Observation{Sent: 3}) // a stall between two aborts
	r.Observe("h:21", Observation{Sent: 1, Abort: true})
	if r.InTransfer("h:21") {
		t.Error("a path failure between two aborts broke the row: the server is still sent NOOPs")
	}
}

func TestRegistryRemember(t *testing.T) {
	var r Registry
	r.Remember("bad:21", Aborts, false)
	if r.InTransfer("bad:21") || r.Begin("bad:21").Noops || r.Behaviour("bad:21") != Aborts {
		t.Error("a server remembered to abort still gets NOOPs during transfers")
	}
	if _, observed := r.Seen("bad:21"); observed {
		t.Error("a remembered behaviour counts as observed")
	}
	r.Remember("good:21", AfterFinal, false)
	if !r.InTransfer("good:21") || r.Behaviour("good:21") != AfterFinal {
		t.Errorf("remembered AfterFinal: in transfer %v, behaviour %v", r.InTransfer("good:21"), r.Behaviour("good:21"))
	}
	r.Observe("seen:21", Observation{Sent: 2, During: []int{200, 200}, Clean: true})
	r.Remember("seen:21", WithError, false)
	if r.Behaviour("seen:21") != AtOnce {
		t.Error("a remembered behaviour overrode this process's observation")
	}
}

// TestRegistryRetest: a remembered abort under retest gives NOOPs to one
// transfer at a time; a path failure gives no verdict (the next transfer
// tests), a clean transfer clears it, one abort confirms it.
func TestRegistryRetest(t *testing.T) {
	var r Registry
	r.Remember("h:21", Aborts, true)
	g1 := r.Begin("h:21")
	if !g1.Noops {
		t.Fatal("the first transfer of a retest gets no NOOPs")
	}
	if g2 := r.Begin("h:21"); g2.Noops {
		t.Fatal("two transfers at once test the remembered abort")
	} else {
		r.End("h:21", g2, Observation{})
	}
	r.End("h:21", g1, Observation{Sent: 2}) // stalled: no verdict
	g3 := r.Begin("h:21")
	if !g3.Noops {
		t.Fatal("after a test without verdict, the next transfer does not test")
	}
	r.End("h:21", g3, Observation{Sent: 2, During: []int{500, 500}, Clean: true})
	if b, observed := r.Seen("h:21"); b != WithError || !observed || !r.Begin("h:21").Noops || !r.Begin("h:21").Noops {
		t.Errorf("a clean transfer did not clear the remembered abort: %v", b)
	}

	var c Registry
	c.Remember("h:21", Aborts, true)
	g := c.Begin("h:21")
	c.End("h:21", g, Observation{Sent: 1, Abort: true})
	if b, observed := c.Seen("h:21"); b != Aborts || !observed || c.Begin("h:21").Noops {
		t.Errorf("an abort during the retest: behaviour %v observed %v, NOOPs still granted", b, observed)
	}
}

// TestEnding: the abort rule. Only a failure reply right after a NOOP
// while data flowed is the server's doing.
func TestEnding(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	abort := Ending{Reply: 426, ReplyAt: at(10), LastNoop: at(0), LastData: at(9), Window: 50 * time.Millisecond}
	for _, tc := range []struct {
		name string
		e    func(e Ending) Ending
		want bool
	}{
		{"426 right after a NOOP, data flowing", func(e Ending) Ending { return e }, true},
		{"451", func(e Ending) Ending { e.Reply = 451; return e }, true},
		{"550", func(e Ending) Ending { e.Reply = 550; return e }, true},
		{"data reset after the NOOP, NOOP unanswered", func(e Ending) Ending { e.DataFault = at(5); e.Unanswered = true; return e }, true},
		{"a final 150 (pure-ftpd's own stall report)", func(e Ending) Ending { e.Reply = 150; return e }, false},
		{"no reply (stall, lost control)", func(e Ending) Ending { e.Reply = 0; return e }, false},
		{"no NOOP", func(e Ending) Ending { e.LastNoop = time.Time{}; return e }, false},
		{"reply long after the NOOP", func(e Ending) Ending { e.ReplyAt = at(400); return e }, false},
		{"reply before the NOOP", func(e Ending) Ending { e.LastNoop = at(20); e.LastData = at(20); return e }, false},
		{"data stalled before the NOOP", func(e Ending) Ending { e.LastData = at(-3000); return e }, false},
		{"data broke before the NOOP", func(e Ending) Ending { e.DataFault = at(-5); e.Unanswered = true; return e }, false},
		{"data reset after the NOOP, every NOOP answered", func(e Ending) Ending { e.DataFault = at(5); return e }, false},
	} {
		if got := tc.e(abort).ServerAborted(); got != tc.want {
			t.Errorf("%s: ServerAborted = %v, want %v", tc.name, got, tc.want)
		}
	}
}
