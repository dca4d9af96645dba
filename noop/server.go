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
	Sent   int   // NOOPs written during the transfer
	During []int // codes of answers that came before the final reply
	After  int   // answers discarded by the resync after the final reply
	// Abort: the server ended the transfer in a way only it can, right
	// after a NOOP (Ending.ServerAborted).
	Abort bool
	// Clean: the transfer completed although a NOOP reached the server
	// while it ran: the server answered one before its final reply, or
	// (a server that answers only after it) one was written a whole
	// answer window before the data's end. The server does not abort on
	// NOOP.
	Clean bool
}

// Registry remembers, per server, for the life of the process, how NOOPs
// during transfers were answered. It is safe for concurrent use.
type Registry struct {
	Logf func(format string, args ...any) // where a change of NOOP policy for a server is logged, once per change

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	behaviour Behaviour
	observed  bool // behaviour was seen by this process, not only remembered
	aborts    int  // consecutive transfers that gave evidence of an abort
	disabled  bool // no NOOPs during transfers
	retest    bool // a remembered "aborts" is being tested: one transfer at a time gets NOOPs
	testing   bool // ... and one has them now
}

// Default is the process-wide registry.
var Default = &Registry{}

// abortConfirmations is how many transfers in a row must give evidence of
// an abort (Ending.ServerAborted, with no clean transfer between) before
// the server is taken to abort on NOOP. A server that really aborts does
// so every time; a coincidence twice in a row is unlikely. A retest of a
// remembered abort needs one.
const abortConfirmations = 2

// InTransfer reports whether NOOPs may be written during transfers to
// server (Begin decides for one transfer).
func (r *Registry) InTransfer(server string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[server]
	return h == nil || !h.disabled
}

// A Grant is what Begin allowed one transfer.
type Grant struct {
	Noops bool // NOOPs may be written during the transfer
	test  bool // it is the one transfer retesting a remembered abort
}

// Begin is called as a transfer to server starts and says whether NOOPs
// may be written during it. While a remembered "aborts on NOOP" is
// retested, one transfer at a time gets them. Every Begin is followed by
// one End.
func (r *Registry) Begin(server string) Grant {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[server]
	switch {
	case h == nil:
		return Grant{Noops: true}
	case h.retest && h.testing:
		return Grant{}
	case h.retest:
		h.testing = true
		return Grant{Noops: true, test: true}
	}
	return Grant{Noops: !h.disabled}
}

// End records what a transfer that Begin allowed g showed.
func (r *Registry) End(server string, g Grant, o Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hostLocked(server)
	if g.test {
		h.testing = false
	}
	r.observeLocked(server, h, o)
}

// Observe records what a transfer showed.
func (r *Registry) Observe(server string, o Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observeLocked(server, r.hostLocked(server), o)
}

func (r *Registry) observeLocked(server string, h *hostState, o Observation) {
	switch {
	case o.Abort:
		h.aborts++
		need := abortConfirmations
		if h.retest {
			need = 1 // remembered, and seen again
		}
		if h.aborts >= need && !h.disabled {
			h.disabled, h.retest = true, false
			h.behaviour, h.observed = Aborts, true
			r.logf("server %s ended %d transfer(s) in a row with a failure reply right after a NOOP while data was flowing: no more NOOPs during transfers to it", server, h.aborts)
		}
	case o.Clean:
		h.aborts = 0
		if h.behaviour == Aborts {
			r.logf("server %s completed a transfer with NOOPs sent while data flowed: it does not abort on NOOP; NOOPs during transfers to it again", server)
		}
		h.disabled, h.retest = false, false
		h.behaviour, h.observed = classify(o), true
	case o.Sent > 0 && h.behaviour != Aborts && !h.disabled:
		// Answers were seen, but the NOOPs proved nothing about aborts
		// (the transfer failed for a reason of the path, or its NOOPs,
		// answered only after the final reply, came too late in it).
		if len(o.During) > 0 || o.After > 0 {
			h.behaviour, h.observed = classify(o), true
		}
	}
}

func (r *Registry) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
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

// Behaviour returns what server has shown so far, or was remembered to do.
func (r *Registry) Behaviour(server string) Behaviour {
	b, _ := r.Seen(server)
	return b
}

// Seen returns what server has shown so far and whether this process saw
// it (observed false: only remembered, or nothing known).
func (r *Registry) Seen(server string) (b Behaviour, observed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.hosts[server]; h != nil {
		return h.behaviour, h.observed
	}
	return Unknown, false
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
