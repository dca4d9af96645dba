//go:build !unix

package profile

import (
	"os"
	"path/filepath"
)

// lock only makes sure the directory exists where flock(2) does not:
// writes are still atomic renames, so a concurrent run may lose the other
// run's latest change but never sees a torn file.
func (s *Store) lock(k Key) (unlock func(), err error) {
	if _, err := os.Stat(filepath.Join(s.Dir)); err != nil {
		return nil, err
	}
	return func() {}, nil
}
