package keepftp

import (
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
)

// node is one entry of one side of a mirror, as its listing (or the local
// walk) gave it.
type node struct {
	rel   string            // below the top, slash-separated
	kind  control.EntryType // File, Dir; Link and Other only on a destination
	size  int64             // -1: unknown
	mtime time.Time         // zero: unknown
	// unit is what mtime is given to: time.Second for MLSD and MDTM,
	// time.Minute for a LIST time, time.Nanosecond for a local file.
	unit time.Duration
	// known is what a remote listing said of a file where its facts can
	// stand in for SIZE and MDTM (MLSD: listingFacts), nil otherwise;
	// unique is a remote folder's MLSD unique fact. Only these are kept
	// of the listing's entry: its facts (a map per entry) would hold
	// memory for every file of the tree.
	known  *resume.Remote
	unique string
	listed bool // a folder whose listing succeeded: what it holds is known
}

// tree is one side of a mirror: its entries in walk order, a folder
// before what it holds.
type tree struct {
	nodes map[string]*node
	order []*node
	// temps are the upload temporaries (resume.IsUploadPart) a remote
	// destination holds: by the rel of their folder ("" the top), their
	// names and sizes. They are keepftp's, not files of the tree.
	temps map[string]map[string]int64
	// complete: every listing succeeded completely (no folder that could
	// not be listed, no bad line, nothing past the bound).
	complete bool
	// topMissing: the top does not exist (a destination not made yet).
	topMissing bool
	// hidesDots: a listing may have left out names that start with a
	// dot (LIST without -a): an upload temporary not listed may be there,
	// and a source may have a name with a dot it did not show.
	hidesDots bool
	entries   int // walked so far, against limit
	limit     int // maxEntries; maxStreamEntries for a walk that holds no node
	// seen holds every name the walk was shown, by rel: the ones it took
	// and the ones it left out (by the Filter, links a source does not
	// follow, names it cannot use). A destination entry whose name a
	// source has seen is never deleted as missing from the source.
	seen map[string]bool
	// holdsOut holds, by rel ("" the top), the folders that hold
	// something the tree does not: an entry the Filter left out, one that
	// could not be read or used, a listing cut short. Such a folder is
	// never removed (what it holds is not the delete's to remove).
	holdsOut map[string]bool
}

func newTree() *tree {
	return &tree{nodes: map[string]*node{}, temps: map[string]map[string]int64{}, complete: true,
		seen: map[string]bool{}, holdsOut: map[string]bool{}, limit: maxEntries}
}

// newStreamTree is the tree of a streamed walk, which holds no node: its
// bound is maxStreamEntries.
func newStreamTree() *tree {
	tr := newTree()
	tr.limit = maxStreamEntries
	return tr
}

// leftOut notes that the entry rel is not in the tree though it is
// there: its folder holds something the tree does not.
func (tr *tree) leftOut(rel string) {
	tr.holdsOut[parentRel(rel)] = true
}

func (tr *tree) add(n *node) {
	tr.nodes[n.rel] = n
	tr.order = append(tr.order, n)
}

// folderListed reports whether what the folder rel holds is known: it
// was listed, or it does not exist (then it holds nothing).
func (tr *tree) folderListed(rel string) bool {
	if rel == "" {
		return true // listed, or missing: Plan made it an error otherwise
	}
	n := tr.nodes[rel]
	return n == nil || n.kind != control.Dir || n.listed
}

// count counts one more entry against the tree's limit, and reports
// whether it is within the bound.
func (tr *tree) count() (ok, first bool) {
	tr.entries++
	if tr.entries <= tr.limit {
		return true, false
	}
	tr.complete = false
	return false, tr.entries == tr.limit+1
}
