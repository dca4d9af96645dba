package keepftp

import (
	"cmp"
	"context"
	"errors"
	"slices"
)

// maxDepth bounds a mirror's recursion: a server that lists a directory
// inside itself forever must not keep us.
const maxDepth = 64

// MaxMirrorEntries bounds the entries a whole plan (PlanMirror) walks, all
// directories together, on each side: the plan is held in memory before
// the files are copied, and a server that lists without end must not
// grow it without end. A mirror, which runs folder by folder and holds no
// entry per file (Mirror, MirrorFunc, PlanMirrorFunc), walks up to 64
// times as many on its source (and its destination's listing of each
// folder up to MaxMirrorEntries): its bound is one of time, against a
// server that lists without end. Entries past the bound are left out,
// and reported once.
const MaxMirrorEntries = 1 << 20

// maxEntries is MaxMirrorEntries, and maxStreamEntries a streamed walk's
// bound; lowered by tests.
var (
	maxEntries       = MaxMirrorEntries
	maxStreamEntries = MaxMirrorEntries << 6
)

// MaxMirrorDirs bounds the remote directories a mirror lists in one run.
// The depth bound alone does not bound the time: a server whose every
// directory lists two subdirectories that are itself grows a tree of
// 2^depth directories, each with a listing of its own. Directories past
// the bound are left out, and reported once.
const MaxMirrorDirs = 100_000

// maxDirs is MaxMirrorDirs, lowered by tests.
var maxDirs = MaxMirrorDirs

// Mirror copies the remote directory tree at rawURL into the local
// directory dir, Options.Parallel files at a time: folder by folder
// (MirrorFunc), deciding each file as PlanMirror would. Files
// whose local copy is up to date are skipped; partial downloads resume
// from dir's staging directory (see StagingDir). Symbolic links on the
// server are not followed.
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
func (c *Client) Mirror(ctx context.Context, rawURL, dir string) ([]FileResult, error) {
	return c.mirror(ctx, ToLocal, rawURL, dir, MirrorOptions{})
}

// MirrorUp copies the local directory tree dir to the remote directory at
// rawURL, Options.Parallel files at a time, like lftp's mirror -R:
// folder by folder (MirrorFunc), deciding each file as PlanMirror would.
// Remote folders are made as needed (MKD). Each
// file is uploaded to a temporary in its remote folder (".NAME.TAG.keepftp-part",
// TAG from the local size and time), verified, given the local file's
// time and renamed, as Put does; a rerun resumes each partial
// upload from its temporary, and removes the temporaries left by older
// versions of the files. Files already up to date on the server are
// skipped (see PlanMirror for the rules).
//
// The local walk never follows a symbolic link out of dir, nor one to a
// folder; a link to a file inside dir is uploaded as that file. Names that
// cannot be remote names (CR, LF, NUL) and names of keepftp's own
// (StagingDir at the top, upload temporaries) are left out with a warning,
// as results wrapping ErrLeftOut.
func (c *Client) MirrorUp(ctx context.Context, dir, rawURL string) ([]FileResult, error) {
	return c.mirror(ctx, ToServer, rawURL, dir, MirrorOptions{})
}

// MirrorWith is Mirror (ToLocal) or MirrorUp (ToServer) with options.
// With Delete, the deletes come after the transfers, and only if the
// source's whole walk succeeded and every file was copied; until then the
// list of them is kept in a temporary file, not in memory.
func (c *Client) MirrorWith(ctx context.Context, d Direction, rawURL, dir string, o MirrorOptions) ([]FileResult, error) {
	return c.mirror(ctx, d, rawURL, dir, o)
}

func (c *Client) mirror(ctx context.Context, d Direction, rawURL, dir string, o MirrorOptions) ([]FileResult, error) {
	// As RunPlan returns them: the entries left out first, then the
	// files in the walk's order, then the deletes.
	var out, files []FileResult
	var at []int
	_, err := c.mirrorStreamed(ctx, d, rawURL, dir, o, func(i int, r FileResult) {
		if errors.Is(r.Err, ErrLeftOut) {
			out = append(out, r)
			return
		}
		at = append(at, i)
		files = append(files, r)
	}, nil)
	if err != nil && len(out)+len(files) == 0 {
		return nil, err
	}
	order := make([]int, len(files))
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(at[a], at[b]) })
	for _, k := range order {
		out = append(out, files[k])
	}
	return out, err
}

// MirrorFunc is MirrorWith that hands each result to fn as it comes
// (RunPlanFunc) instead of returning them all, so that a mirror of any
// number of files holds no result per file. Only a top that cannot be
// listed is an error with no call of fn.
//
// A mirror runs folder by folder (the walk lists a folder, its files are
// decided and copied, and it goes on), so that what it holds does not
// grow with the number of files; i counts the results in the order the
// walk met them, the entries left out among the files, then the deletes.
func (c *Client) MirrorFunc(ctx context.Context, d Direction, rawURL, dir string, o MirrorOptions, fn func(i int, r FileResult)) error {
	_, err := c.mirrorStreamed(ctx, d, rawURL, dir, o, fn, nil)
	return err
}

// PlanMirrorFunc is PlanMirror that hands each action to fn as it is
// decided instead of holding them all: the walk runs folder by folder,
// as MirrorFunc's does, so that the plan of a tree of any size holds no
// action per entry. Nothing is changed on either side.
//
// The Plan it returns has no Actions; its Problems, SourceComplete and
// NoDeletes are PlanMirror's, and its Deletes counts the deletes handed
// to fn. The actions come in the order MirrorFunc does them: the folders
// to make, skips and transfers of each folder as the walk meets it, an
// upload's cleanups as it leaves each folder, then (Delete) the deletes
// and keeps, each folder's after what it held.
func (c *Client) PlanMirrorFunc(ctx context.Context, d Direction, rawURL, dir string, o MirrorOptions, fn func(a Action)) (*Plan, error) {
	if fn == nil {
		fn = func(Action) {}
	}
	return c.mirrorStreamed(ctx, d, rawURL, dir, o, nil, fn)
}
