package noop

import "sync"

// Behaviour is what a server did with NOOPs written during a transfer.
type Behaviour int

const (
	Unknown    Behaviour = iota // no NOOP sent during a transfer yet
	AtOnce                      // answered with 200 while the transfer ran (pyftpdlib)
	AfterFinal                  // answered only after the transfer's final reply (vsftpd, proftpd)
	WithError                   // answered at once with 5xx (pure-ftpd)
	Lost                        // some answers never came (pure-ftpd under load)
	Aborts                      // the transfer was aborted in answer to a NOOP
)

func (b Behaviour) String() string {
	switch b {
	case AtOnce:
		return "answered at once"
	case AfterFinal:
		return "answered after the transfer"
	case WithError:
		return "answered with 5xx"
	case Lost:
		return "answers lost"
	case Aborts:
		return "aborts the transfer"
	}
	return "unknown"
}

// Observation is what one transfer showed about NOOPs.
type Observation struct {
	Sent       int   // NOOPs written during the transfer
	During     []int // codes of answers that came before the final reply
	After      int   // answers discarded by the resync after the final reply
	Suspicious bool  // the transfer failed right after a NOOP, with no other cause seen
}

// Registry remembers, per server, for the life of the process, how NOOPs
// during transfers were answered. It is safe for concurrent use.
type Registry struct {
	Logf func(format string, args ...any) // where "stopping in-transfer NOOPs" is logged, once per server

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	behaviour  Behaviour
	suspicions int // consecutive transfers that failed right after a NOOP
	disabled   bool
}

// Default is the process-wide registry.
var Default = &Registry{}

// abortConfirmations is how many transfers in a row must fail right after
// a NOOP before the server is taken to abort on NOOP. One could be a
// network cut that happened to follow a NOOP; two in a row of those are
// unlikely, while a server that really aborts does so every time.
const abortConfirmations = 2

// InTransfer reports whether NOOPs may be written during transfers to
// server.
func (r *Registry) InTransfer(server string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[server]
	return h == nil || !h.disabled
}

// Behaviour returns what server has shown so far.
func (r *Registry) Behaviour(server string) Behaviour {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.hosts[server]; h != nil {
		return h.behaviour
	}
	return Unknown
}

// Observe records what a transfer showed.
func (r *Registry) Observe(server string, o Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hostLocked(server)
	if o.Suspicious {
		h.suspicions++
		if h.suspicions >= abortConfirmations && !h.disabled {
			h.disabled = true
			h.behaviour = Aborts
			if r.Logf != nil {
				r.Logf("server %s aborted %d transfers in a row right after a NOOP: no more NOOPs during transfers to it", server, h.suspicions)
			}
		}
		return
	}
	if o.Sent == 0 {
		return
	}
	h.suspicions = 0
	if h.behaviour == Aborts {
		return
	}
	h.behaviour = classify(o)
}

func classify(o Observation) Behaviour {
	answered := len(o.During) + o.After
	errs := 0
	for _, code := range o.During {
		if code >= 500 {
			errs++
		}
	}
	switch {
	case errs > 0:
		return WithError
	case answered < o.Sent:
		return Lost
	case len(o.During) > 0:
		return AtOnce
	default:
		return AfterFinal
	}
}

// hostLocked returns server's state, made on first use; r.mu is held.
func (r *Registry) hostLocked(server string) *hostState {
	if r.hosts == nil {
		r.hosts = map[string]*hostState{}
	}
	h := r.hosts[server]
	if h == nil {
		h = &hostState{}
		r.hosts[server] = h
	}
	return h
}
