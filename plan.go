package keepftp

import (
	"context"
	"path"
	"path/filepath"
	"time"

	"github.com/keepftp/keepftp/resume"
)

// A mirror runs in two steps: PlanMirror lists both sides and decides what
// to do with every file, changing nothing; RunPlan does it. The plan is a
// value: a caller may show it (a dry run) or check it before running it.

// Direction says which way a mirror copies.
type Direction int

const (
	ToLocal  Direction = iota // download: the server's tree to the local folder
	ToServer                  // upload: the local folder to the server
)

func (d Direction) String() string {
	if d == ToServer {
		return "upload"
	}
	return "download"
}

// MirrorOptions are a mirror's settings besides its two ends.
type MirrorOptions struct {
	// Checksum makes a file up to date when its hash is the same on both
	// sides (SHA-256, SHA-1 or MD5, through HASH or the X commands), as
	// rclone's --checksum, instead of its size and time; a file whose
	// size differs is copied without asking. Where the server offers no
	// such hash, a warning says so once and size and time decide.
	Checksum bool
	// Delete removes from the destination the files and folders the
	// source does not have (like rsync --delete, rclone sync): local ones
	// for a download, DELE and RMD on the server for an upload. It is
	// careful: nothing is deleted unless every listing of the source
	// succeeded completely (Plan.NoDeletes says why not otherwise), nor
	// in a run where a file failed or the plan left one out; deletes come
	// after the transfers. Names the Filter leaves out, on either side,
	// are never deleted, nor links, nor keepftp's own staging; a folder
	// is removed only once it is empty, never with what it holds. See
	// PlanMirror.
	Delete bool
	// MaxDelete, if positive, bounds the deletes of a run (files and
	// folders; keepftp's own temporaries are not counted): the run stops
	// before the one past it, and reports the rest as not deleted (a
	// result wrapping ErrNotDeleted).
	MaxDelete int
}

// ActionKind is what a plan does with one entry.
type ActionKind string

// The kinds of Action.
const (
	ActTransfer ActionKind = "transfer" // copy the file (Reason: why)
	ActSkip     ActionKind = "skip"     // the destination is up to date (Reason: by which rule)
	ActMkdir    ActionKind = "mkdir"    // make the destination folder
	// ActCleanup removes a temporary of keepftp's own from the server:
	// an upload's temporary (".NAME.TAG.keepftp-part") left by an older
	// version of a file, or by a file no longer in the source. The
	// temporaries of the files this plan uploads are resumed, not removed.
	ActCleanup ActionKind = "cleanup"
	// ActDelete removes a destination file or an emptied folder the
	// source does not have (MirrorOptions.Delete; Reason: why).
	ActDelete ActionKind = "delete"
	// ActKeep is a destination entry the source does not have that
	// MirrorOptions.Delete leaves where it is (Reason: why: a link, a
	// folder that holds names the Filter leaves out, ...).
	ActKeep ActionKind = "keep"
)

// Action is one step of a Plan.
type Action struct {
	Kind   ActionKind
	Rel    string // the path below both tops, slash-separated ("" for the top)
	URL    string // the remote file or folder, without password
	Local  string // the local file or folder
	Size   int64  // the source file's size (-1 unknown); delete and keep: the destination's
	Dir    bool   // the entry is a folder (mkdir, delete, keep)
	Reason string // why: "missing", "size differs ...", "up to date: same size and time ..."

	t resume.Target // the remote file or folder
	// download: what the source's listing said of the file, where its
	// facts stand in for SIZE and MDTM (listingFacts); nil otherwise.
	known *resume.Remote
	part  *resume.Remote // upload: what the listing said of the file's temporary
	// delete of a local file: its time when listed (it is not deleted if
	// it changed since); delete of a remote temporary of keepftp's: temp.
	mtime time.Time
	temp  bool
}

// Plan is what a mirror will do, decided from listings of both sides
// before anything is changed. Actions come in the order they are run:
// skips and transfers in the order of the source's walk (a folder's mkdir
// before its files), then the cleanups, then (MirrorOptions.Delete) the
// deletes and keeps in the order of the destination's walk, each folder's
// delete after what it held. Problems are the source entries left out
// (each wraps ErrLeftOut); RunPlan returns them first among its results.
type Plan struct {
	Direction Direction
	URL       string // the remote top, without password
	Dir       string // the local top
	Options   MirrorOptions
	Actions   []Action
	Problems  []FileResult
	// SourceComplete reports whether every listing of the source side
	// succeeded completely: no folder that could not be listed, no line
	// that could not be parsed, nothing past MaxMirrorEntries. Only then
	// can a file missing from the source be taken as absent.
	SourceComplete bool
	// NoDeletes, with MirrorOptions.Delete, says why the plan deletes
	// nothing though the destination may hold what the source does not:
	// the source's listing was not complete. "" otherwise.
	NoDeletes string

	root resume.Target // the remote top
	// problem, when set (a streamed mirror), takes each source entry
	// left out as it is found instead of Problems.
	problem func(FileResult)
	// streamedDeletes counts the deletes a streamed plan handed out
	// (PlanMirrorFunc): Deletes counts them with its Actions'.
	streamedDeletes int
}

// Counts returns how many actions of each kind the plan holds.
func (p *Plan) Counts() map[ActionKind]int {
	n := map[ActionKind]int{}
	for _, a := range p.Actions {
		n[a.Kind]++
	}
	return n
}

// PlanMirror lists both sides of a mirror, the remote folder at rawURL
// and the local folder dir, and decides, changing nothing, what RunPlan
// will do with each entry: copy it from the source to the destination
// (the server's tree to dir for ToLocal, dir to the server for ToServer),
// skip it as up to date, make a folder, remove a stale temporary.
//
// A file is copied when the destination has no file of that name (Reason
// "missing"), holds a partial copy to resume ("partial to resume": a
// download's in StagingDir, an upload's temporary on the server), or a
// file that is not up to date; the reason says which. A file is up to
// date when it has the same size and the same time, to the second where
// the listing gives seconds (MLSD); where it gives less (LIST: the minute
// or the day, in the server's zone), MDTM is asked for the files whose
// sizes match, pipelined, and a LIST time to the minute is the fallback.
// On a server that takes no file time (known from an earlier upload, see
// the profiles) an uploaded file keeps the time of its upload: there, up
// to date means the same size and a server time not older than the local
// file's. With Options.Checksum, the same size and the same hash. Each
// skip's Reason names the rule that decided it.
//
// With Options.Delete, the destination's entries the source does not have
// are planned as deletes (ActDelete, after everything else; see
// planDeletes for the rules), or as keeps (ActKeep) with the reason they
// stay: links, and folders that hold what is not deleted. When the
// source's listing was not complete, no delete is planned and NoDeletes
// says why.
//
// Only a top that cannot be listed (the source's; the destination's for
// another reason than not existing) is an error.
func (c *Client) PlanMirror(ctx context.Context, d Direction, rawURL, dir string, o MirrorOptions) (*Plan, error) {
	root, err := c.parse(rawURL)
	if err != nil {
		return nil, err
	}
	p := &Plan{Direction: d, URL: root.String(), Dir: dir, Options: o, root: root}
	pl := &planner{c: c, ctx: ctx, p: p}
	if d == ToLocal {
		err = pl.download()
	} else {
		err = pl.upload()
	}
	if err != nil {
		return nil, err
	}
	pl.planDeletes()
	return p, nil
}

// planner makes one Plan.
type planner struct {
	c   *Client
	ctx context.Context
	p   *Plan
	src *tree
	dst *tree
	// noTimes: the server is known to take no file time (an upload
	// mirror's rule for up to date changes).
	noTimes bool
	// sums, with Checksum: by source rel, the decision the hashes made
	// ("up to date: same size and SHA-256", "SHA-256 differs").
	sums map[string]verdict
	// noHash: Checksum cannot be asked of the server (said once).
	noHash bool
}

// verdict is a decision on one file and its reason.
type verdict struct {
	upToDate bool
	why      string
}

// remoteTarget is the remote entry rel below the top.
func (p *Plan) remoteTarget(rel string) resume.Target {
	t := p.root
	if rel != "" {
		t.Path = path.Join(p.root.Path, rel)
	}
	return t
}

// localPath is the local entry rel below the top.
func (p *Plan) localPath(rel string) string {
	return filepath.Join(p.Dir, filepath.FromSlash(rel))
}
