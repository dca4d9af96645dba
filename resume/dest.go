package resume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Dest is a local destination as keepftp writes it. Only a regular file
// (or a name where nothing is yet) gets the atomic treatment: NAME.part,
// preallocation, fsync, the server's time, rename. Anything else that
// exists is written in place, in order, as a stream, and never replaced:
// renaming a file over /dev/null, over the link /dev/stdout or over a
// FIFO would destroy what the user named.
type Dest struct {
	// Path is the file to write: the name given, or, for a symbolic link,
	// what it leads to (a regular file, the name of one to be, a device).
	// The partial file goes beside Path, and the link stays a link.
	Path string
	// Stream, when not "", says what the destination is ("standard
	// output", "a character device", "a FIFO", "a socket", ...): it is
	// written in place, as a stream, with no partial file, rename,
	// truncation, preallocation, fsync or time set.
	Stream string

	mode fs.FileMode // a stream's type
	fd   int         // the descriptor of this process it is (-, /dev/stdout, /proc/self/fd/N), else -1
}

// Stdout reports whether the destination is this process's standard
// output: "-", /dev/stdout, /proc/self/fd/1.
func (d Dest) Stdout() bool { return d.fd == 1 }

// maxLinks bounds the symbolic links followed to a destination, as the
// kernel does (ELOOP after 40).
const maxLinks = 40

// LocalDest classifies the local destination name: "-" is standard output;
// a regular file, or nothing yet, is a file; a symbolic link is followed
// to what it leads to (a link into /proc/PID/fd, such as /dev/stdout or
// /dev/fd/3, is the descriptor it names, a stream whatever that is); a
// device, a FIFO or a socket is a stream. A directory is an error.
func LocalDest(name string) (Dest, error) {
	d := Dest{Path: name, fd: -1}
	if name == "-" {
		d.Stream, d.fd = "standard output", 1
		return d, nil
	}
	p := name
	for links := 0; ; links++ {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			d.Path = p // a new file, or the file a dangling link names
			return d, nil
		}
		if err != nil {
			return d, err
		}
		m := fi.Mode()
		switch {
		case m.IsRegular():
			d.Path = p
			return d, nil
		case m.IsDir():
			return d, fmt.Errorf("%s is a directory", name)
		case m&fs.ModeSymlink == 0:
			d.Path, d.mode, d.Stream = p, m.Type(), streamKind(m)
			return d, nil
		case links == maxLinks:
			return d, fmt.Errorf("%s: more than %d symbolic links", name, maxLinks)
		}
		if fd, self, ok := procFD(p); ok {
			// A descriptor's link (/proc/self/fd/1) does not name a
			// file that could be replaced, whatever it leads to: a pipe,
			// a socket, a terminal, a file opened for appending.
			fi, err := os.Stat(p)
			if err != nil {
				return d, err
			}
			if fi.IsDir() {
				return d, fmt.Errorf("%s is a directory", name)
			}
			d.mode = fi.Mode().Type()
			d.Stream = fmt.Sprintf("%s (descriptor %d)", streamKind(fi.Mode()), fd)
			if self {
				d.fd = fd
			}
			d.Path = p
			return d, nil
		}
		to, err := os.Readlink(p)
		if err != nil {
			return d, err
		}
		if !filepath.IsAbs(to) {
			to = filepath.Join(filepath.Dir(p), to)
		}
		p = to
	}
}

// procFD reports whether p is a link in a process's descriptor table
// (/proc/PID/fd/N, also reached as /proc/self/fd/N or /dev/fd/N), which
// descriptor, and whether the process is this one.
func procFD(p string) (fd int, self, ok bool) {
	dir, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err != nil {
		return 0, false, false
	}
	n, err := strconv.Atoi(filepath.Base(p))
	parts := strings.Split(dir, string(filepath.Separator)) // "", "proc", PID, ..., "fd"
	if err != nil || n < 0 || len(parts) < 4 || parts[0] != "" || parts[1] != "proc" || parts[len(parts)-1] != "fd" {
		return 0, false, false
	}
	return n, parts[2] == strconv.Itoa(os.Getpid()), true
}

// streamKind names what is not a regular file, for messages.
func streamKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}
