package keepftp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
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

// MaxMirrorDirs bounds the directories a mirror lists in one run. The
// depth bound alone does not bound the time: a server whose every
// directory lists two subdirectories that are itself grows a tree of
// 2^depth directories, each with a listing of its own. Directories past
// the bound are left out, and reported once.
const MaxMirrorDirs = 100_000

// maxDirs is MaxMirrorDirs, lowered by tests.
var maxDirs = MaxMirrorDirs

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
// parsed, a directory loop (a subdirectory whose MLSD unique fact, or
// whose whole listing, names, sizes and times, is that of a directory
// above it) or a tree deeper than 64 levels, a name listed twice in one
// directory, the entries past MaxMirrorEntries, the directories past
// MaxMirrorDirs. A listing that
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
	dirs     int // listed so far below the top, against maxDirs
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
// wrong with the listing, if anything), copied to local. ancestors are
// what the directories above are known by, to see a loop: their MLSD
// unique facts and their listings' fingerprints, each with the directory.
func (m *mirror) dir(t resume.Target, local string, entries []control.Entry, listErr error, depth int, ancestors map[string]string) {
	if listErr != nil {
		m.problem(t, local, listErr)
	}
	if fp := fingerprint(entries); fp != "" {
		if above, ok := ancestors[fp]; ok {
			m.problem(t, local, fmt.Errorf("directory loop: %s lists the same entries (names, sizes, times) as %s above it", t, above))
			return
		}
		ancestors = copyAdd(ancestors, fp, t.String())
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if m.entries++; m.entries > maxEntries {
			if m.entries == maxEntries+1 {
				m.problem(t, local, fmt.Errorf("more than %d entries in the tree: the rest is not walked", maxEntries))
			}
			return
		}
		child := t
		child.Path = path.Join(t.Path, e.Name)
		switch {
		case !SafeName(e.Name):
			// The URL shows the name percent-encoded: its control bytes
			// must not reach a terminal or a log raw.
			child.Path = path.Join(t.Path, url.PathEscape(e.Name))
			m.problem(child, "", errUnsafeName(e.Name))
			continue
		case depth == 0 && e.Name == StagingDir:
			m.problem(child, "", fmt.Errorf("the name %q is where keepftp keeps its partial files", e.Name))
			continue
		case seen[e.Name]:
			m.problem(child, filepath.Join(local, e.Name), fmt.Errorf("%q is listed more than once", e.Name))
			continue
		}
		seen[e.Name] = true
		lp := filepath.Join(local, e.Name)
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
func (m *mirror) subdir(t resume.Target, local string, e control.Entry, depth int, ancestors map[string]string) {
	id := e.Facts["unique"]
	if id != "" {
		id = "unique " + id // apart from the fingerprints
	}
	switch {
	case id != "" && ancestors[id] != "":
		m.problem(t, local, fmt.Errorf("directory loop: %s is %s above it (%s)", t, ancestors[id], id))
		return
	case depth > maxDepth:
		m.problem(t, local, fmt.Errorf("deeper than %d levels (a directory loop?)", maxDepth))
		return
	}
	if m.ctx.Err() != nil || m.entries > maxEntries || m.dirs > maxDirs {
		return
	}
	if m.dirs++; m.dirs > maxDirs {
		m.problem(t, local, fmt.Errorf("more than %d directories in the tree: the rest is not walked", maxDirs))
		return
	}
	entries, err := m.c.listRetrying(m.ctx, t)
	if m.ctx.Err() != nil {
		return
	}
	if id != "" {
		ancestors = copyAdd(ancestors, id, t.String())
	}
	m.dir(t, local, entries, err, depth, ancestors)
}

func copyAdd(set map[string]string, key, dir string) map[string]string {
	out := make(map[string]string, len(set)+1)
	for k, v := range set {
		out[k] = v
	}
	out[key] = dir
	return out
}

// fingerprint sums what a listing says: each entry's name, type, size and
// time, in name order. A directory whose listing has the fingerprint of a
// directory above it holds itself, as far as anyone can tell: walking it
// would list the same again, without end. An empty listing has none (""):
// a directory above holds at least the one below it.
func fingerprint(entries []control.Entry) string {
	if len(entries) == 0 {
		return ""
	}
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b control.Entry) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	for _, e := range sorted {
		fmt.Fprintf(h, "%q %d %d %d\n", e.Name, e.Type, e.Size, e.ModTime.UnixNano())
	}
	return "listing " + hex.EncodeToString(h.Sum(nil))
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
	return r
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
