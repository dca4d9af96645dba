package resume

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mknodNull makes a character device with /dev/null's numbers (1:3) at
// name: the real /dev/null is never touched. Making a device needs root
// (CAP_MKNOD): without it the test is skipped, saying so.
func mknodNull(t *testing.T, name string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mknod of a character device needs root; CI runs these as root")
	}
	if err := unix.Mknod(name, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod %s: %v (no CAP_MKNOD here)", name, err)
	}
}

// isNullDevice reports whether name is still a character device 1:3.
func isNullDevice(name string) bool {
	var st unix.Stat_t
	return unix.Lstat(name, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && unix.Major(st.Rdev) == 1 && unix.Minor(st.Rdev) == 3
}

// procLink makes name a symbolic link to /proc/self/fd/N of f.
func procLink(t *testing.T, name string, f *os.File) int {
	t.Helper()
	fd := int(f.Fd())
	if err := os.Symlink("/proc/self/fd/"+strconv.Itoa(fd), name); err != nil {
		t.Fatal(err)
	}
	return fd
}

// LocalDest says what each kind of local name is, from Lstat and the
// links' text alone: nothing is opened, created or replaced.
func TestLocalDest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := func(n string) string { return filepath.Join(dir, n) }
	if err := os.WriteFile(at("file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(at("dir"), 0o755))
	must(os.Symlink("file", at("link")))        // relative
	must(os.Symlink(at("link"), at("link2")))   // a chain
	must(os.Symlink("dir/new", at("dangling"))) // leads to a file to be
	must(os.Symlink("loop", at("loop")))
	must(syscall.Mkfifo(at("fifo"), 0o644))
	must(os.Symlink("fifo", at("fifolink")))
	ln, err := net.Listen("unix", at("sock"))
	must(err)
	defer ln.Close()
	r, w, err := os.Pipe()
	must(err)
	defer r.Close()
	defer w.Close()
	pipeFD := procLink(t, at("pipe"), w)
	reg, err := os.OpenFile(at("appended"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	must(err)
	defer reg.Close()
	regFD := procLink(t, at("fdfile"), reg)

	for _, c := range []struct {
		name, path, stream string
		stdout             bool
	}{
		{name: at("new"), path: at("new")},
		{name: at("file"), path: at("file")},
		{name: at("link"), path: at("file")},
		{name: at("link2"), path: at("file")},
		{name: at("dangling"), path: at("dir/new")},
		{name: at("fifo"), path: at("fifo"), stream: "a FIFO"},
		{name: at("fifolink"), path: at("fifo"), stream: "a FIFO"},
		{name: at("sock"), path: at("sock"), stream: "a socket"},
		{name: at("pipe"), path: "/proc/self/fd/" + strconv.Itoa(pipeFD), stream: "a FIFO (descriptor " + strconv.Itoa(pipeFD) + ")"},
		{name: at("fdfile"), path: "/proc/self/fd/" + strconv.Itoa(regFD), stream: "a regular file (descriptor " + strconv.Itoa(regFD) + ")"},
		{name: "-", path: "-", stream: "standard output", stdout: true},
	} {
		d, err := LocalDest(c.name)
		if err != nil || d.Path != c.path || d.Stream != c.stream || d.Stdout() != c.stdout {
			t.Errorf("LocalDest(%s) = %+v (stdout %v), %v; want path %s, stream %q", c.name, d, d.Stdout(), err, c.path, c.stream)
		}
	}
	if _, err := os.Lstat("/dev/stdout"); err == nil {
		if d, err := LocalDest("/dev/stdout"); err != nil || d.Stream == "" || !d.Stdout() {
			t.Errorf("LocalDest(/dev/stdout) = %+v, %v; want this process's standard output, a stream", d, err)
		}
	}
	for _, bad := range []string{at("dir"), at("loop")} {
		if d, err := LocalDest(bad); err == nil {
			t.Errorf("LocalDest(%s) = %+v, want an error", bad, d)
		}
	}
}

// A character device made with mknod is a stream.
func TestLocalDestCharDevice(t *testing.T) {
	t.Parallel()
	name := filepath.Join(t.TempDir(), "null")
	mknodNull(t, name)
	d, err := LocalDest(name)
	if err != nil || d.Path != name || d.Stream != "a character device" {
		t.Errorf("LocalDest = %+v, %v; want a character device", d, err)
	}
}
