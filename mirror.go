package keepftp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/transfer"
)

// maxDepth bounds a mirror's recursion: a server that lists a directory
// inside itself forever must not keep us.
const maxDepth = 64

// MaxMirrorEntries bounds the entries a mirror walks, all directories
// together: the walk is held in memory before the files are copied, and a
// server that lists without end must not grow it without end. Entries past
// the bound are left out, and reported once.
const MaxMirrorEntries = 1 << 20

// maxEntries is MaxMirrorEntries, lowered by tests.
var maxEntries = MaxMirrorEntries

// Mirror copies the remote directory tree at rawURL into the local
// directory dir, par files at a time. Files whose local copy already has
// the remote size and modification time are skipped; partial downloads
// resume from dir's staging directory (see StagingDir). Symbolic links are
// not followed.
//
// Mirror copies everything it can. An entry it cannot copy is reported as
// a result whose Err wraps ErrLeftOut, with a "warning" event, and the
// walk goes on: a name that cannot be a local path (see SafeName), a
// subdirectory that cannot be listed, a listing line that cannot be
// parsed, a directory loop or a tree deeper than 64 levels, a name listed
// twice in one directory, the entries past MaxMirrorEntries. A listing that
// fails for a reason that may pass is tried again first. Only a top
// directory that cannot be listed at all is an error with no results.
//
// The listing's facts stand in for SIZE and MDTM before each file where
// they are precise (MLSD's size and modify); with LIST, the check after
// each transfer asks the next file's SIZE and MDTM in the same round trip.
// The check after each transfer always asks the server, so a file that
// changed since the listing, or during its transfer, is caught and fetched
// again.
func (c *Client) Mirror(ctx context.Context, rawURL, dir string, par int) ([]FileResult, error) {
	root, err := c.parse(rawURL)
	if err != nil {
		return nil, err
	}
	entries, err := c.listRetrying(ctx, root)
	if err != nil && !errors.Is(err, control.ErrBadListing) {
		return nil, err // nothing to copy: the top cannot be listed
	}
	m := &mirror{c: c, ctx: ctx, top: dir, stage: newStaging(dir)}
	m.dir(root, dir, entries, err, 0, nil)
	out, ran := m.copyAll(par)
	for i, ok := range ran {
		if ok {
			continue
		}
		out[i] = FileResult{URL: m.files[i].t.String(), Local: m.files[i].local, Err: ctx.Err()}
	}
	m.stage.cleanup()
	return append(m.problems, out...), ctx.Err()
}

// mirror is one Mirror's walk.
type mirror struct {
	c        *Client
	ctx      context.Context
	top      string
	stage    staging
	files    []mirrorFile
	problems []FileResult
	entries  int // walked so far, against maxEntries
}

type mirrorFile struct {
	t     resume.Target
	local string
	rel   string // local, relative to the top
	e     control.Entry
}

// problem reports an entry left out.
func (m *mirror) problem(t resume.Target, local string, err error) {
	err = leftOut(err)
	m.problems = append(m.problems, FileResult{URL: t.String(), Local: local, Err: err})
	m.c.emit(Event{Kind: EventWarning, URL: t.String(), Local: local, Reason: err.Error()})
}

// dir walks one remote directory t, listed as entries (listErr: what went
// wrong with the listing, if anything), copied to local. ancestors are the
// MLSD unique facts of the directories above, to see a loop.
func (m *mirror) dir(t resume.Target, local string, entries []control.Entry, listErr error, depth int, ancestors map[string]bool) {
	if listErr != nil {
		m.problem(t, local, listErr)
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if m.entries++; m.entries > maxEntries {
			if m.entries == maxEntries+1 {
				m.problem(t, local, fmt.Errorf("more than %d entries in the tree: the rest is not walked", maxEntries))
			}
			return
		}
		child, err := listedName(t, e.Name, seen)
		switch {
		case errors.Is(err, ErrUnsafeName):
			m.problem(child, "", err)
			continue
		case err != nil:
			m.problem(child, filepath.Join(local, e.Name), err)
			continue
		case depth == 0 && e.Name == StagingDir:
			m.problem(child, "", fmt.Errorf("the name %q is where keepftp keeps its partial files", e.Name))
			continue
		}
		lp := filepath.Join(local, e.Name)
		if !m.takes(lp, e) {
			continue // left out by Options.Filter: not walked, not copied
		}
		switch e.Type {
		case control.Dir:
			m.subdir(child, lp, e, depth+1, ancestors)
		case control.File:
			rel, err := filepath.Rel(m.top, lp)
			if err != nil {
				m.problem(child, lp, err)
				continue
			}
			m.files = append(m.files, mirrorFile{t: child, local: lp, rel: rel, e: e})
		}
	}
}

// subdir lists and walks a subdirectory, unless that would loop.
func (m *mirror) subdir(t resume.Target, local string, e control.Entry, depth int, ancestors map[string]bool) {
	id := e.Facts["unique"]
	switch {
	case id != "" && ancestors[id]:
		m.problem(t, local, fmt.Errorf("directory loop: %s is a directory above it (unique %q)", t, id))
		return
	case depth > maxDepth:
		m.problem(t, local, fmt.Errorf("deeper than %d levels (a directory loop?)", maxDepth))
		return
	}
	if m.ctx.Err() != nil || m.entries > maxEntries {
		return
	}
	if st, err := os.Lstat(local); err == nil && st.Mode()&os.ModeSymlink != 0 {
		m.problem(t, local, fmt.Errorf("local %s is a symbolic link: a mirror does not follow local links, nor replace them", local))
		return
	}
	entries, err := m.c.listRetrying(m.ctx, t)
	if m.ctx.Err() != nil {
		return
	}
	if id != "" {
		ancestors = copyAdd(ancestors, id)
	}
	m.dir(t, local, entries, err, depth, ancestors)
}

func copyAdd(set map[string]bool, id string) map[string]bool {
	out := make(map[string]bool, len(set)+1)
	for k := range set {
		out[k] = true
	}
	out[id] = true
	return out
}

// copyAll copies the files with par workers and reports which ran. A
// worker takes its next file when the check after its transfer is made
// (resume.Ahead.Next), the moment it is about to be free, so that no file
// waits on a busy worker while another is idle. Where the listing's facts
// are not precise (LIST), that check asks the next file's SIZE and MDTM
// too and opens its data port, in the same round trip: those facts stand
// in for the next file's own look before its transfer, and its check
// after the transfer still asks the server.
func (m *mirror) copyAll(par int) ([]FileResult, []bool) {
	out := make([]FileResult, len(m.files))
	ran := make([]bool, len(m.files))
	var mu sync.Mutex
	next := 0
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(m.files) || m.ctx.Err() != nil {
			return -1
		}
		next++
		return next - 1
	}
	var wg sync.WaitGroup
	for range max(par, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var known *resume.Remote // from the look ahead taken with the last file's check
			for i := take(); i >= 0 && m.ctx.Err() == nil; {
				j := -1
				ahead := &resume.Ahead{Next: func() string {
					if j = take(); j >= 0 && m.lookAhead(m.files[i], m.files[j]) {
						return m.files[j].t.Path
					}
					return ""
				}}
				ran[i] = true // each index is taken by one worker only
				out[i] = m.copy(m.files[i], known, ahead)
				known = ahead.Facts    // nil unless the check looked at file j
				if ahead.Next != nil { // no check asked for the next file: take it now
					j = take()
				}
				i = j
			}
		}()
	}
	wg.Wait()
	return out, ran
}

// lookAhead reports whether the check after f's transfer should look at
// next too: when the listing's facts cannot stand in for next's look
// before its transfer, and both are to be fetched.
func (m *mirror) lookAhead(f, next mirrorFile) bool {
	if k := listingFacts(next.e); k != nil && k.Complete() {
		return false
	}
	return !upToDate(f.local, f.e) && !upToDate(next.local, next.e)
}

// copy downloads one file of the tree, or skips it when up to date. known,
// if set, is what the server said about it in the look ahead; ahead is the
// next file to look at with its check.
func (m *mirror) copy(f mirrorFile, known *resume.Remote, ahead *resume.Ahead) FileResult {
	r := FileResult{URL: f.t.String(), Local: f.local}
	if err := notRegular(f.local); err != nil {
		r.Err = leftOut(err)
		m.c.emit(Event{Kind: EventWarning, URL: r.URL, Local: r.Local, Reason: r.Err.Error()})
		return r
	}
	if upToDate(f.local, f.e) {
		r.Skipped = true
		r.Outcome.Size = f.e.Size
		m.c.emit(Event{Kind: EventSkip, URL: r.URL, Local: r.Local, Size: f.e.Size})
		return r
	}
	if err := os.MkdirAll(filepath.Dir(f.local), 0o755); err != nil {
		r.Err = &transfer.LocalError{Err: err}
		m.c.emit(Event{Kind: EventError, URL: r.URL, Local: r.Local, Reason: err.Error()})
		return r
	}
	if err := m.stage.prepare(f.rel); err != nil {
		r.Err = &transfer.LocalError{Err: err}
		m.c.emit(Event{Kind: EventError, URL: r.URL, Local: r.Local, Reason: err.Error()})
		return r
	}
	part, state := m.stage.files(f.rel)
	if known == nil {
		known = listingFacts(f.e)
	}
	r.Outcome, r.Err = m.c.get(m.ctx, f.t, f.local, fileOpts{part: part, state: state, stateTemp: m.stage.temp(), known: known, ahead: ahead})
	m.c.removeSource(m.ctx, downloadSource(f.t, f.local), &r)
	return r
}

// notRegular says why a mirror leaves the local name alone: it exists and
// is not a regular file. A symbolic link is not followed (it could lead
// out of the folder) nor replaced; a device, a FIFO or a socket is never
// replaced, and a mirror does not pour files into one.
func notRegular(local string) error {
	d, err := resume.LocalDest(local)
	switch {
	case err != nil:
		return nil // resume.Get reports it
	case d.Stream != "":
		return fmt.Errorf("local %s is %s: a mirror writes only regular files, and leaves it as it is", local, d.Stream)
	case d.Path != local:
		return fmt.Errorf("local %s is a symbolic link: a mirror does not follow local links, nor replace them", local)
	}
	return nil
}

// upToDate reports whether the local file matches a remote entry: same
// size, and the same time where the listing gives a usable one (to the
// minute for LIST, whose times have no seconds).
func upToDate(local string, e control.Entry) bool {
	st, err := os.Stat(local)
	if err != nil || !st.Mode().IsRegular() || e.Size < 0 || st.Size() != e.Size {
		return false
	}
	if !resume.UsableTime(e.ModTime) {
		return true
	}
	lt, rt := st.ModTime().UTC(), e.ModTime.UTC()
	if e.Facts == nil {
		lt, rt = lt.Truncate(time.Minute), rt.Truncate(time.Minute)
	} else {
		lt, rt = lt.Truncate(time.Second), rt.Truncate(time.Second)
	}
	return lt.Equal(rt)
}
