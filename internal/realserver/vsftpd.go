package realserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func (s *Server) setupVsftpd(b binaries, host string, port int) ([]string, error) {
	// Anonymous only. The anonymous root must not be writable by the
	// session's user: Root stays root's, uploads go to /upload, owned by
	// ftp_username.
	const ftpUser = "daemon"
	uid, gid, err := lookupUser(ftpUser)
	if err != nil {
		return nil, err
	}
	s.uid, s.gid = uid, gid
	s.User, s.Password = "", ""
	s.UploadDir = "/upload"
	up := filepath.Join(s.Root, "upload")
	if err := os.Mkdir(up, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chown(up, uid, gid); err != nil {
		return nil, err
	}
	empty := filepath.Join(s.etc(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		return nil, err
	}
	listen := "listen=YES\nlisten_ipv6=NO\nlisten_address=" + host
	if strings.Contains(host, ":") {
		listen = "listen=NO\nlisten_ipv6=YES\nlisten_address6=" + host
	}
	conf := fmt.Sprintf(`# keepftp realserver
%s
listen_port=%d
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=%s
ftp_username=%s
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_umask=022
anon_world_readable_only=YES
pasv_enable=YES
pasv_min_port=%d
pasv_max_port=%d
port_enable=YES
connect_from_port_20=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=%s
tcp_wrappers=NO
dirmessage_enable=NO
hide_ids=NO
max_clients=0
max_per_ip=%d
syslog_enable=NO
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=%s
`, listen, port, s.Root, ftpUser, s.PassivePorts[0], s.PassivePorts[1], empty, max(s.opts.MaxPerIP, 0),
		filepath.Join(s.etc(), "vsftpd.log"))
	if secs := seconds(s.opts.IdleTimeout); secs > 0 {
		conf += fmt.Sprintf("idle_session_timeout=%d\n", secs)
	}
	if s.opts.TLS != NoTLS {
		f, err := s.writeTLSFiles()
		if err != nil {
			return nil, err
		}
		// TLS required for the anonymous login and every data connection;
		// require_ssl_reuse=YES is the default, stated to be sure: a data
		// connection must resume the control connection's TLS session.
		conf += fmt.Sprintf(`ssl_enable=YES
rsa_cert_file=%s
rsa_private_key_file=%s
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=YES
ssl_ciphers=HIGH
debug_ssl=YES
`, f.cert, f.key)
		if s.opts.TLS == ImplicitTLS {
			conf += "implicit_ssl=YES\n"
		}
	}
	cf := filepath.Join(s.etc(), "vsftpd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	return []string{cf}, nil
}

// virtualUser prepares the login of proftpd's and pure-ftpd's virtual
// user: sessions run as nobody, who owns the served root, and the
// password is stored as a SHA-512 crypt hash.
