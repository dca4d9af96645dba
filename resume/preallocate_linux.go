package resume

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// preallocate gives f its final size, with the blocks reserved where the
// file system can (fallocate): segments written out of order then neither
// fragment the file nor fail half-way for want of space.
func preallocate(f *os.File, size int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = unix.Fallocate(int(fd), 0, 0, size) }); err != nil {
		return err
	}
	if ferr == nil {
		return nil
	}
	if errors.Is(ferr, unix.ENOSPC) {
		return ferr
	}
	return f.Truncate(size) // not supported here: a sparse file
}
