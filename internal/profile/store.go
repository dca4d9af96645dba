package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Store is a directory of profiles, one JSON file per server and user.
// It is safe for concurrent use, also by several processes: every change
// is a read-modify-write under an exclusive lock on a lock file beside the
// profile, and the profile is replaced by a rename, so a reader sees the
// old or the new file, never a mix.
type Store struct {
	Dir string
}

// DefaultDir is os.UserCacheDir()/keepftp ($XDG_CACHE_HOME/keepftp, or
// ~/.cache/keepftp, on Linux).
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "keepftp"), nil
}

// Open returns the store in dir, DefaultDir if dir is "". The directory
// is created on the first write.
func Open(dir string) (*Store, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return nil, fmt.Errorf("profiles: %w", err)
		}
	}
	return &Store{Dir: dir}, nil
}

// Path is the file that holds k's profile.
func (s *Store) Path(k Key) string { return filepath.Join(s.Dir, fileName(k)+".json") }

// fileName makes a file name of a key that no server name can turn into a
// path: bytes other than letters, digits, '.', '-' and '_' are escaped as
// %XX, so "../x" stays in the directory (and with the '@' the name is
// never "." or ".."), and two keys never share a file.
func fileName(k Key) string {
	k = k.normal()
	return escape(k.User) + "@" + escape(k.Addr) // '@' is escaped inside: the split is unambiguous
}

func escape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// maxFile bounds the size of a profile read: a profile is a few hundred
// bytes, and a damaged or hostile file must not fill memory.
const maxFile = 64 << 10

// Load returns k's profile; ok is false when there is none. A file that
// cannot be parsed is reported as an error and treated as no profile by
// Update, which replaces it.
func (s *Store) Load(k Key) (p Profile, ok bool, err error) {
	b, err := readLimited(s.Path(k))
	if errors.Is(err, fs.ErrNotExist) {
		return Profile{}, false, nil
	}
	if err != nil {
		return Profile{}, false, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return Profile{}, false, fmt.Errorf("profile %s: %w", s.Path(k), err)
	}
	return p, true, nil
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err == nil && len(b) > maxFile {
		err = fmt.Errorf("profile %s: larger than %d bytes", name, maxFile)
	}
	return b, err
}

// Update applies change to k's profile (the zero Profile if there is none,
// or if the file is damaged) and writes the result, under the lock, so
// that what other runs wrote in the meantime is kept.
func (s *Store) Update(k Key, change func(*Profile)) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	unlock, err := s.lock(k)
	if err != nil {
		return err
	}
	defer unlock()
	p, _, err := s.Load(k)
	if err != nil {
		p = Profile{} // damaged: start over
	}
	change(&p)
	n := k.normal()
	p.Server, p.User, p.Updated = n.Addr, n.User, time.Now().UTC()
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.Path(k), append(b, '\n'))
}

// Remove deletes k's profile; ok is false when there was none.
func (s *Store) Remove(k Key) (ok bool, err error) {
	unlock, err := s.lock(k)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // no directory, no profile
	}
	if err != nil {
		return false, err
	}
	defer unlock()
	err = os.Remove(s.Path(k))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// writeAtomic writes data to a temporary file beside name, syncs it and
// renames it over name.
func writeAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename, there is nothing to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
