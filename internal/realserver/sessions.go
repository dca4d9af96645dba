package realserver

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// WaitIdle waits, up to timeout, until the server has no session process
// left: a session closed with QUIT lingers a moment in vsftpd, proftpd and
// pure-ftpd, and counts against Options.MaxPerIP until it exits. It
// reports whether none is left. (pyftpdlib serves every session in its one
// process: it has none to wait for.)
func (s *Server) WaitIdle(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if s.sessionProcesses() == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sessionProcesses counts the processes of the server's process group
// other than the listener, from /proc.
func (s *Server) sessionProcesses() int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == s.Pid {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces: split after ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) >= 3 && f[2] == strconv.Itoa(s.Pid) && f[0] != "Z" {
			n++
		}
	}
	return n
}
