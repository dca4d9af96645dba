package realserver

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// listensOn finds this process's listener by its port, and tells it from
// a port no one listens on and from another process.
func TestListensOn(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("%s: %v", addr, err) // no IPv6 here
			continue
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		if !listensOn(os.Getpid(), port) {
			t.Errorf("%s: our listener on %d not found", addr, port)
		}
		other := exec.Command("sleep", "5")
		if err := other.Start(); err != nil {
			t.Fatal(err)
		}
		if listensOn(other.Process.Pid, port) {
			t.Errorf("%s: another process said to listen on our port %d", addr, port)
		}
		other.Process.Kill()
		other.Wait()
	}
	if listensOn(os.Getpid(), 1) {
		t.Error("port 1: this process listens on no such port")
	}
}
