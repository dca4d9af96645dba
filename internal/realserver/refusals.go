package realserver

import (
	"os"
	"path/filepath"
	"strings"
)

// refusalLine is what vsftpd, proftpd and pyftpdlib log for each
// connection they refuse over Options.MaxPerIP.
var refusalLine = map[Kind]string{
	Vsftpd:    "Connection refused: too many sessions for this address", // vsftpd.log
	Proftpd:   "Connection refused (MaxClientsPerHost",                  // its output (-n)
	Pyftpdlib: "Too many connections from the same IP address",          // its output
}

// pure-ftpd logs only the first refusal from an address ("Too many
// connections (N) from this IP"), then keeps quiet about the rest; every
// session it accepts logs this line.
const pureAccepted = "[INFO] New connection from "

// Refusals counts the connections the server refused because
// Options.MaxPerIP were open, by its own log. For pure-ftpd, which does
// not log each refusal, made is the number of TCP connections made to it
// (a middlebox's count) and the refusals are those its log does not show
// as accepted, the readiness check's included; made is ignored for the
// others. ok is false when the server's log cannot be read (pure-ftpd
// without a mount namespace for its syslog).
func (s *Server) Refusals(made int) (n int, ok bool) {
	if s.Kind == PureFTPd && s.syslog == nil {
		return 0, false
	}
	text := string(s.out.Bytes())
	logs, _ := filepath.Glob(filepath.Join(s.etc(), "*.log"))
	for _, f := range logs {
		if b, err := os.ReadFile(f); err == nil {
			text += string(b)
		}
	}
	if s.Kind == PureFTPd {
		return made + 1 - strings.Count(text, pureAccepted), true // +1: waitReady's connection
	}
	return strings.Count(text, refusalLine[s.Kind]), true
}
