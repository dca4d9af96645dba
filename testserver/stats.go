package testserver

import (
	"context"
	"sync"
)

// Stats is a snapshot of what the server observed. The counters are
// cumulative except ActiveConns. The shim cannot read TLS sessions, so
// the byte, command and NOOP counters do not include them.
type Stats struct {
	Connections    int64 // control connections accepted so far
	ActiveConns    int64 // control connections currently open
	MaxActiveConns int64 // peak simultaneous control connections
	BytesSent      int64 // file content written to download data connections
	BytesReceived  int64 // file content read from upload data connections
	Downloads      int64 // RETR commands received
	Uploads        int64 // STOR/APPE/STOU commands received
	Noops          int64 // NOOP commands received (answered or not)
	// NoopsInTransfer counts the NOOPs received while a transfer ran
	// (between its 1xx and its final reply): a client's keepalive on an
	// idle connection is in Noops only.
	NoopsInTransfer int64
	TLSSessions     int64 // control sessions under TLS (AUTH TLS accepted, or implicit TLS)
	Refused         int64 // control connections refused by MaxConnsPerIP
}

// notifier holds a value of type T and lets waiters block until a
// condition on it holds. Tests use it instead of polling with sleeps:
// every update wakes all waiters, which re-check their condition.
type notifier[T any] struct {
	mu      sync.Mutex
	v       T
	changed chan struct{}
}

func newNotifier[T any]() *notifier[T] {
	return &notifier[T]{changed: make(chan struct{})}
}

func (n *notifier[T]) update(f func(*T)) {
	n.mu.Lock()
	f(&n.v)
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
}

func (n *notifier[T]) get() T {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.v
}

// wait blocks until cond holds for the current value or ctx is done.
func (n *notifier[T]) wait(ctx context.Context, cond func(T) bool) (T, error) {
	for {
		n.mu.Lock()
		v, ch := n.v, n.changed
		n.mu.Unlock()
		if cond(v) {
			return v, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return v, ctx.Err()
		}
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats { return s.stats.get() }

// WaitStats blocks until cond holds for the server's counters or ctx is
// done, and returns the last snapshot seen. Counters such as ActiveConns
// change asynchronously (ftpserverlib notices a closed connection on its
// own schedule), so tests wait for them rather than sleep.
func (s *Server) WaitStats(ctx context.Context, cond func(Stats) bool) (Stats, error) {
	return s.stats.wait(ctx, cond)
}
