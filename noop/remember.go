package noop

// Remember sets what server was seen to do in an earlier run (a learned
// profile). A server remembered to abort transfers on NOOP gets none from
// the first transfer on, instead of after two more aborted transfers,
// unless retest is set: then the remembered abort is tested again, one
// transfer at a time getting NOOPs until one verdict. A transfer that
// completes with NOOPs clears it; one more abort confirms it, and NOOPs
// stop. Other behaviours only inform Behaviour until this process
// observes its own.
func (r *Registry) Remember(server string, b Behaviour, retest bool) {
	if b == Unknown {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hostLocked(server)
	if h.behaviour != Unknown || h.disabled {
		return // this process knows better
	}
	h.behaviour = b
	if b == Aborts {
		h.disabled, h.retest = !retest, retest
	}
}
