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
	r.Observe("bad:21", Observation{Sent: 1, Suspicious: true})
	if !r.InTransfer("bad:21") {
		t.Fatal("disabled after one suspicion, which may be a network cut")
	}
	r.Observe("bad:21", Observation{Sent: 1, Suspicious: true})
	if r.InTransfer("bad:21") {
		t.Fatal("still sending NOOPs to a server that aborted twice in a row")
	}
	r.Observe("bad:21", Observation{Sent: 1, Suspicious: true})
	r.Observe("bad:21", Observation{Sent: 2, During: []int{200, 200}})
	if r.InTransfer("bad:21") || r.Behaviour("bad:21") != Aborts {
		t.Error("a server that aborts must stay disabled for the process's life")
	}
	if len(logs) != 1 {
		t.Errorf("logged %d times, want once", len(logs))
	}
	if !r.InTransfer("good:21") {
		t.Error("another server affected")
	}
}

func TestRegistrySuspicionResetBySuccess(t *testing.T) {
	var r Registry
	r.Observe("h:21", Observation{Sent: 1, Suspicious: true})
	r.Observe("h:21", Observation{Sent: 4, After: 4})
	r.Observe("h:21", Observation{Sent: 1, Suspicious: true})
	if !r.InTransfer("h:21") {
		t.Error("two suspicions separated by a good transfer disabled NOOPs")
	}
}

func TestRegistryRemember(t *testing.T) {
	var r Registry
	r.Remember("bad:21", Aborts)
	if r.InTransfer("bad:21") || r.Behaviour("bad:21") != Aborts {
		t.Error("a server remembered to abort still gets NOOPs during transfers")
	}
	r.Remember("good:21", AfterFinal)
	if !r.InTransfer("good:21") || r.Behaviour("good:21") != AfterFinal {
		t.Errorf("remembered AfterFinal: in transfer %v, behaviour %v", r.InTransfer("good:21"), r.Behaviour("good:21"))
	}
	r.Observe("seen:21", Observation{Sent: 2, During: []int{200, 200}})
	r.Remember("seen:21", WithError)
	if r.Behaviour("seen:21") != AtOnce {
		t.Error("a remembered behaviour overrode this process's observation")
	}
}
