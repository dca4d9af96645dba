package realserver

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

func (s *Server) virtualUser(b binaries) (uid, gid int, hash string, err error) {
	if uid, gid, err = lookupUser("nobody"); err != nil {
		return 0, 0, "", err
	}
	s.uid, s.gid = uid, gid
	if err := os.Chown(s.Root, uid, gid); err != nil {
		return 0, 0, "", err
	}
	hash, err = cryptSHA512(b.openssl, s.Password)
	return uid, gid, hash, err
}

func (s *Server) setupProftpd(b binaries, host string, port int) ([]string, error) {
	uid, gid, hash, err := s.virtualUser(b)
	if err != nil {
		return nil, err
	}
	group, err := user.LookupGroupId(strconv.Itoa(gid))
	if err != nil {
		return nil, err
	}
	passwd := filepath.Join(s.etc(), "ftpd.passwd")
	line := fmt.Sprintf("%s:%s:%d:%d::%s:/bin/false\n", s.User, hash, uid, gid, s.Root)
	if err := os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		return nil, err
	}
	groupFile := filepath.Join(s.etc(), "ftpd.group")
	if err := os.WriteFile(groupFile, []byte(fmt.Sprintf("%s:x:%d:%s\n", group.Name, gid, s.User)), 0o600); err != nil {
		return nil, err
	}
	etc := s.etc()
	var c strings.Builder
	fmt.Fprintf(&c, `# keepftp realserver
ServerType standalone
ServerName "keepftp realserver"
DefaultAddress %s
SocketBindTight on
UseIPv6 %s
Port %d
PassivePorts %d %d
User nobody
Group %s
Umask 022
MaxInstances 64
PidFile %s/proftpd.pid
ScoreboardFile %s/proftpd.scoreboard
DelayTable %s/proftpd.delay
TransferLog %s/xfer.log
WtmpLog off
UseReverseDNS off
UseFtpUsers off
AuthPAM off
AuthOrder mod_auth_file.c
AuthUserFile %s
AuthGroupFile %s
RequireValidShell off
DefaultRoot ~
AllowOverwrite on
AllowStoreRestart on
AllowRetrieveRestart on
<IfModule mod_ctrls.c>
  ControlsEngine off
</IfModule>
<IfModule mod_cap.c>
  CapabilitiesEngine off
</IfModule>
`, host, onOff(strings.Contains(host, ":")), port, s.PassivePorts[0], s.PassivePorts[1], group.Name,
		etc, etc, etc, etc, passwd, groupFile)
	if secs := seconds(s.opts.IdleTimeout); secs > 0 {
		fmt.Fprintf(&c, "TimeoutIdle %d\n", secs)
	}
	if s.opts.MaxPerIP > 0 {
		fmt.Fprintf(&c, "MaxClientsPerHost %d\n", s.opts.MaxPerIP)
	}
	if s.opts.LogCommands {
		// %r: the command line as received (proftpd hides PASS's
		// argument itself).
		fmt.Fprintf(&c, "LogFormat keepftpcmds \"%%r\"\nExtendedLog %s ALL keepftpcmds\n", filepath.Join(etc, commandLogName))
	}
	var modules []string
	if s.opts.Digest {
		modules = append(modules, "mod_digest")
	}
	if s.opts.TLS != NoTLS {
		modules = append(modules, "mod_tls")
	}
	if len(modules) > 0 {
		fmt.Fprintf(&c, "ModulePath %s\n<IfModule mod_dso.c>\n", b.modules)
		for _, m := range modules {
			if _, err := os.Stat(filepath.Join(b.modules, m+".so")); err != nil {
				return nil, fmt.Errorf("proftpd %s: %w", m, err)
			}
			fmt.Fprintf(&c, "  LoadModule %s.c\n", m)
		}
		c.WriteString("</IfModule>\n")
	}
	if s.opts.Digest {
		c.WriteString(`<IfModule mod_digest.c>
  DigestEngine on
  DigestAlgorithms all
</IfModule>
`)
	}
	if s.opts.TLS != NoTLS {
		f, err := s.writeTLSFiles()
		if err != nil {
			return nil, err
		}
		// TLSRequired on: control and data. Session reuse on data
		// connections is required by default (no NoSessionReuseRequired).
		fmt.Fprintf(&c, `<IfModule mod_tls.c>
  TLSEngine on
  TLSRequired on
  TLSProtocol TLSv1.2 TLSv1.3
  TLSRSACertificateFile %s
  TLSRSACertificateKeyFile %s
  TLSVerifyClient off
  TLSLog %s
</IfModule>
`, f.cert, f.key, filepath.Join(etc, "tls.log"))
	}
	cf := filepath.Join(etc, "proftpd.conf")
	if err := os.WriteFile(cf, []byte(c.String()), 0o600); err != nil {
		return nil, err
	}
	// -n: foreground, logging to stderr.
	return []string{"-n", "-c", cf}, nil
}
