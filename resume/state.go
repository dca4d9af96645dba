package resume

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// state is the sidecar file kept beside NAME.part: what the remote file
// looked like when the partial was started, so a later attempt (in this
// run or another) can tell whether it may continue it.
type state struct {
	Version int    `json:"version"`
	URL     string `json:"url"` // without the password
	Remote  Remote `json:"remote"`
	// Segments, for a segmented download, are its ranges and how far each
	// got; the partial file then has the remote file's size from the start.
	Segments []segment `json:"segments,omitempty"`
}

const stateVersion = 1

// stateSuffix is appended to the partial's name for the sidecar.
const stateSuffix = ".keepftp"

func readState(name string) (state, error) {
	var s state
	b, err := os.ReadFile(name)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("state file %s: %w", name, err)
	}
	if s.Version != stateVersion {
		return s, fmt.Errorf("state file %s: version %d", name, s.Version)
	}
	return s, nil
}

// writeState writes the sidecar atomically (temp, rename), so a killed
// process leaves the old state or the new one, never half of one. It does
// not fsync: that would cost a journal commit (tens of milliseconds on
// disk) per file and, for segments, per second. A machine crash can lose
// the newest state, and every outcome of that is safe: no state or an
// unreadable one restarts from 0; an older one names the same file with
// less progress (fetched again), or a remote file that no longer matches
// (restarted). The data's durability is the final fsync's job.
func writeState(name, tmpDir string, s state) error {
	s.Version = stateVersion
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if tmpDir == "" {
		tmpDir = filepath.Dir(name)
	}
	f, err := os.CreateTemp(tmpDir, filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
