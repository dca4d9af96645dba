package keepftp

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// StagingDir is the directory, at the top of a mirror's target (or of a
// batch's destination directory), where keepftp keeps its partial
// downloads and their state files: part/REL and state/REL for the file
// that will be REL, and tmp/, where a state file's next version is
// written before it is renamed into place (beside it, a remote file named
// like that temporary could be clobbered). They live apart from the copied files, so that no
// remote file can share a name with them: a remote "data.part" or
// "data.part.keepftp" next to "data" is just another file. The name is
// reserved: a remote entry of that name at the top is reported and left
// out, never mixed with keepftp's own files. Partial files stay there
// between runs (a rerun resumes them); empty directories are removed at
// the end of a run.
const StagingDir = ".keepftp"

// staging is one run's staging directory.
type staging struct{ dir string }

func newStaging(top string) staging { return staging{dir: filepath.Join(top, StagingDir)} }

// files returns where the partial download of rel (a path relative to the
// top, in local form) and its state file live.
func (s staging) files(rel string) (part, state string) {
	return filepath.Join(s.dir, "part", rel), filepath.Join(s.dir, "state", rel)
}

// temp is the directory of the state files' temporaries: no remote name
// maps into it.
func (s staging) temp() string { return filepath.Join(s.dir, "tmp") }

// prepare creates the directories of rel's partial and state files and of
// the temporaries.
func (s staging) prepare(rel string) error {
	part, state := s.files(rel)
	for _, d := range []string{filepath.Dir(part), filepath.Dir(state), s.temp()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// cleanup removes the staging directories left empty, deepest first, and
// the staging directory itself when nothing is left in it.
func (s staging) cleanup() {
	var dirs []string
	filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	slices.Reverse(dirs)
	for _, d := range dirs {
		os.Remove(d) // fails, as it should, on a directory that is not empty
	}
}
