package realserver

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"
)

func seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func lookupUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("realserver: user %s: %w", name, err)
	}
	uid, err = strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, err
	}
	gid, err = strconv.Atoi(u.Gid)
	return uid, gid, err
}

func cryptSHA512(openssl, password string) (string, error) {
	cmd := exec.Command(openssl, "passwd", "-6", "-stdin")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("openssl passwd -6: %w", err)
	}
	h := strings.TrimSpace(string(out))
	if !strings.HasPrefix(h, "$6$") {
		return "", fmt.Errorf("openssl passwd -6 gave %q", h)
	}
	return h, nil
}

// freePort returns a port that was free on host a moment ago.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// A server's ports, its control port and then its passive range, are one
// block taken below Linux's ephemeral range (32768-60999), so that no
// connection's own port (here or in another process) lands on them, and
// kept distinct within this process. (A control port from freePort, in
// the ephemeral range, was free "a moment ago" only: under load another
// connection or server took it before the server bound it.)
const (
	portsMin   = 20000
	portsMax   = 32700
	blockPorts = 1 + passiveCount
)

var ports struct {
	sync.Mutex
	used map[int]bool // block's first port -> in use
}

// reservePorts reserves a free block: the control port lo and the passive
// range lo+1 to hi.
func reservePorts(host string) (lo, hi int, err error) {
	ports.Lock()
	defer ports.Unlock()
	if ports.used == nil {
		ports.used = map[int]bool{}
	}
	slots := (portsMax - portsMin) / blockPorts
	for try := 0; try < 200; try++ {
		lo = portsMin + rand.IntN(slots)*blockPorts
		if ports.used[lo] || !rangeFree(host, lo, lo+blockPorts-1) {
			continue
		}
		ports.used[lo] = true
		return lo, lo + blockPorts - 1, nil
	}
	return 0, 0, errors.New("realserver: no free block of ports")
}

func releasePorts(lo int) {
	ports.Lock()
	defer ports.Unlock()
	delete(ports.used, lo)
}

func rangeFree(host string, lo, hi int) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for p := lo; p <= hi; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	return true
}

// syncBuffer is a bytes.Buffer safe for the process's writers and Logs.
// It keeps the last maxOutput bytes at most: a server that logs every
// command (pyftpdlib) through a soak of 30,000 transfers wrote 2.3 GB of
// it, all held in memory.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// maxOutput bounds a server's captured output: the tail is what a failure
// needs.
const maxOutput = 4 << 20

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if over := b.buf.Len() + len(p) - maxOutput; over > 0 {
		b.buf.Next(min(over+maxOutput/2, b.buf.Len())) // room for a while: drop half at once
	}
	if len(p) > maxOutput {
		b.buf.Write(p[len(p)-maxOutput:])
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}
