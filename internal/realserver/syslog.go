package realserver

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"
)

// pure-ftpd logs only through syslog(3), to /dev/log, which a test machine
// (a container, say) often lacks, and which the test must not take over
// for the whole machine. So that its log can be read like the other
// servers', it runs in a mount namespace of its own (unshare -m, as root):
// there /dev is a tmpfs with the host's null, zero, random, urandom and
// full bound in, and /dev/log is a datagram socket of the test, which
// collects the lines into etc/syslog.log. Without unshare (or the right
// to mount) it runs as before, with no log.

// syslogSink collects syslog datagrams.
type syslogSink struct {
	conn *net.UnixConn
	f    *os.File
	done chan struct{}
}

func startSyslog(sock, logFile string) (*syslogSink, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		f.Close()
		return nil, err
	}
	// The server's session processes run as nobody.
	if err := os.Chmod(sock, 0o666); err != nil {
		c.Close()
		f.Close()
		return nil, err
	}
	s := &syslogSink{conn: c, f: f, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 8<<10)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			line := append(buf[:n:n], '\n')
			f.Write(line)
		}
	}()
	return s, nil
}

func (s *syslogSink) close() {
	s.conn.Close()
	<-s.done
	s.f.Close()
}

// nsScript runs its arguments with /dev/log bound to $KEEPFTP_SYSLOG, in
// the mount namespace unshare made.
const nsScript = `set -e
hd="$KEEPFTP_HOSTDEV"
mkdir -p "$hd"
mount --bind /dev "$hd"
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero random urandom full; do
	touch /dev/$n
	mount --bind "$hd/$n" /dev/$n
done
touch /dev/log
mount --bind "$KEEPFTP_SYSLOG" /dev/log
exec "$@"
`

var (
	nsOnce sync.Once
	nsErr  error
)

// canUnshare reports whether a private mount namespace can be made here.
func canUnshare() error {
	nsOnce.Do(func() {
		if os.Geteuid() != 0 {
			nsErr = errors.New("not root")
			return
		}
		cmd := exec.Command("unshare", "-m", "--propagation", "private", "/bin/sh", "-c", "mount -t tmpfs tmpfs /mnt")
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			nsErr = err
			return
		}
		go func() { done <- cmd.Wait() }()
		select {
		case nsErr = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			nsErr = errors.New("unshare hung")
		}
	})
	return nsErr
}

// withSyslog wraps cmd (not started) to run with s.syslog as /dev/log;
// it reports false, leaving cmd alone, where that cannot be done.
func (s *Server) withSyslog(cmd *exec.Cmd) bool {
	if canUnshare() != nil {
		return false
	}
	sock := s.etc() + "/syslog.sock"
	sink, err := startSyslog(sock, s.etc()+"/syslog.log")
	if err != nil {
		return false
	}
	s.syslog = sink
	args := append([]string{"-m", "--propagation", "private", "/bin/sh", "-c", nsScript, "sh", cmd.Path}, cmd.Args[1:]...)
	cmd.Path, _ = exec.LookPath("unshare")
	cmd.Args = append([]string{"unshare"}, args...)
	cmd.Env = append(os.Environ(), "KEEPFTP_HOSTDEV="+s.base+"/hostdev", "KEEPFTP_SYSLOG="+sock)
	return true
}
