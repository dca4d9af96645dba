package realserver

import (
	"fmt"
	"strconv"
	"strings"
)

func (s *Server) setupPyftpdlib(b binaries, host string, port int) ([]string, error) {
	argv := []string{"pyftpdlib",
		"-i", host, "-p", strconv.Itoa(port), "-w", "-d", s.Root,
		"-r", fmt.Sprintf("%d-%d", s.PassivePorts[0], s.PassivePorts[1]),
		"-u", s.User, "-P", s.Password,
	}
	if s.opts.LogCommands {
		argv = append(argv, "-D") // "<- VERB arg" for each command
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = strconv.Quote(a)
	}
	timeout := "" // class attributes set before main()
	if secs := seconds(s.opts.IdleTimeout); secs > 0 {
		timeout = fmt.Sprintf("FTPHandler.timeout = %d\n", secs)
	}
	if s.opts.MaxPerIP > 0 {
		timeout += fmt.Sprintf("from pyftpdlib.servers import FTPServer\nFTPServer.max_cons_per_ip = %d\n", s.opts.MaxPerIP)
	}
	// TLS: main() runs the module-level FTPHandler; put TLS_FTPHandler
	// (pyOpenSSL) in its place, requiring TLS on control and data.
	tlsSetup := ""
	if s.opts.TLS != NoTLS {
		f, err := s.writeTLSFiles()
		if err != nil {
			return nil, err
		}
		tlsSetup = fmt.Sprintf(`from pyftpdlib.handlers import TLS_FTPHandler
TLS_FTPHandler.certfile = %s
TLS_FTPHandler.keyfile = %s
TLS_FTPHandler.tls_control_required = True
TLS_FTPHandler.tls_data_required = True
import pyftpdlib.__main__
pyftpdlib.__main__.FTPHandler = TLS_FTPHandler
`, strconv.Quote(f.cert), strconv.Quote(f.key))
	}
	// Its timeouts are class attributes, not flags: set them, then run
	// the module's main() as `python3 -m pyftpdlib` would.
	script := fmt.Sprintf(`import sys
from pyftpdlib.handlers import FTPHandler
%s%ssys.argv = [%s]
from pyftpdlib.__main__ import main
main()
`, timeout, tlsSetup, strings.Join(quoted, ", "))
	return []string{"-u", "-c", script}, nil
}
