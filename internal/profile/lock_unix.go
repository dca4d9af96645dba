//go:build unix

package profile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// lockWait bounds the wait for another run's lock: writers hold it for a
// read and a rename, so a lock held longer belongs to a stuck process.
const lockWait = 5 * time.Second

// lock takes the exclusive lock of k's profile, waiting at most lockWait.
// The lock file stays (removing it would race with a waiting locker).
func (s *Store) lock(k Key) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.Dir, fileName(k)+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(lockWait)
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("profile lock %s: %w", f.Name(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
