package realserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

func (s *Server) setupPureFTPd(b binaries, host string, port int) ([]string, error) {
	// pure-pw useradd would hash with argon2id at a cost that makes each
	// login take seconds; a SHA-512 crypt hash is accepted as well.
	uid, gid, hash, err := s.virtualUser(b)
	if err != nil {
		return nil, err
	}
	passwd := filepath.Join(s.etc(), "pureftpd.passwd")
	pdb := filepath.Join(s.etc(), "pureftpd.pdb")
	// "/./" after the home makes it the user's chroot.
	line := fmt.Sprintf("%s:%s:%d:%d::%s/./::::::::::::\n", s.User, hash, uid, gid, s.Root)
	if err := os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.Command(b.purePw, "mkdb", pdb, "-f", passwd).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pure-pw mkdb: %v: %s", err, out)
	}
	args := []string{
		"-S", host + "," + strconv.Itoa(port),
		"-p", fmt.Sprintf("%d:%d", s.PassivePorts[0], s.PassivePorts[1]),
		"-l", "puredb:" + pdb,
		"-E", // no anonymous
		"-A", // chroot everyone
		"-H", // no DNS
		"-u", "1",
		"-O", "clf:" + filepath.Join(s.etc(), "xfer.log"),
	}
	if s.opts.TLS != NoTLS {
		f, err := s.writeTLSFiles()
		if err != nil {
			return nil, err
		}
		// -Y 3: TLS required on the control connection and on data
		// connections (-Y 2 requires it on control only: it accepts
		// PROT C and sends data in the clear).
		args = append(args, "-Y", "3", "-2", f.combined)
	}
	if s.opts.MaxPerIP > 0 {
		args = append(args, "-C", strconv.Itoa(s.opts.MaxPerIP))
	}
	if s.opts.LogCommands {
		args = append(args, "-d") // "[DEBUG] Command [verb] [arg]" to its syslog
	}
	if s.opts.IdleTimeout > 0 {
		mins := int((s.opts.IdleTimeout + time.Minute - 1) / time.Minute)
		args = append(args, "-I", strconv.Itoa(mins))
	}
	return args, nil
}
