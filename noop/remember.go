package noop

// Remember sets what server was seen to do in an earlier run (a learned
// profile): a server that aborts transfers on NOOP gets none from the
// first transfer on, instead of after two more aborted transfers. Other
// behaviours only inform Behaviour until this process observes its own.
func (r *Registry) Remember(server string, b Behaviour) {
	if b == Unknown {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hostLocked(server)
	if h.behaviour != Unknown {
		return // this process knows better
	}
	h.behaviour = b
	if b == Aborts {
		h.disabled = true
	}
}
