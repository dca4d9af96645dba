package resume

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultPartSuffix is appended to a download's name while it is incomplete.
const DefaultPartSuffix = ".part"

// commit makes a finished download visible under its final name: fsync the
// data, rename NAME.part to NAME, fsync the directory so the rename
// survives a crash.
func commit(f *os.File, final string) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(final)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
