package realserver

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// commandLogName is proftpd's command log (ExtendedLog) in etc/.
const commandLogName = "commands.log"

// ErrNoCommandLog is returned by Commands when the server's log of
// commands cannot be read: Options.LogCommands was not set, or pure-ftpd
// runs without the mount namespace its syslog needs.
var ErrNoCommandLog = errors.New("realserver: the server keeps no log of commands here")

// The forms of a command in each server's log.
var (
	// vsftpd.log: ... FTP command: Client "127.0.0.1", "DELE x"
	vsftpdCommand = regexp.MustCompile(`FTP command: Client "[^"]*", "(.*)"$`)
	// syslog: ... [DEBUG] Command [dele] [x]
	pureCommand = regexp.MustCompile(`\[DEBUG\] Command \[([^\]]*)\] \[(.*)\]$`)
	// output: [D 2026-12-03 10:00:00] 127.0.0.1:40000-[user] <- DELE x
	pyftpdlibCommand = regexp.MustCompile(`\] <- (.*)$`)
)

// Commands returns the commands the server received, as its own log
// records them, in order, "VERB arg" with the verb in capitals: the
// server's log, for tests that check what a client did (or did not do)
// on a real server. Passwords are as the server logs them (each hides
// them its own way). It needs Options.LogCommands (vsftpd logs them
// always).
func (s *Server) Commands() ([]string, error) {
	var text, re = "", (*regexp.Regexp)(nil)
	read := func(name string) error {
		b, err := os.ReadFile(filepath.Join(s.etc(), name))
		text = string(b)
		return err
	}
	var err error
	switch {
	case s.Kind == Vsftpd:
		err, re = read("vsftpd.log"), vsftpdCommand
	case !s.opts.LogCommands:
		return nil, ErrNoCommandLog
	case s.Kind == Proftpd:
		err = read(commandLogName)
	case s.Kind == PureFTPd:
		if s.syslog == nil {
			return nil, ErrNoCommandLog
		}
		err, re = read("syslog.log"), pureCommand
	case s.Kind == Pyftpdlib:
		text, re = string(s.out.Bytes()), pyftpdlibCommand
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		cmd := l
		if re != nil {
			m := re.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			cmd = strings.Join(m[1:], " ")
		}
		if cmd = strings.TrimSpace(cmd); cmd == "" {
			continue
		}
		verb, arg, _ := strings.Cut(cmd, " ")
		out = append(out, strings.TrimSpace(strings.ToUpper(verb)+" "+arg))
	}
	return out, nil
}
