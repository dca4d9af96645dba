package keepftp

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/keepftp/keepftp/resume"
)

// FilterRule is one --include or --exclude pattern of a Filter.
type FilterRule struct {
	Exclude bool   // false: the rule includes what it matches
	Pattern string // see Filter for the syntax
}

// FilterOptions are what NewFilter makes a Filter from. The zero value
// takes everything.
type FilterOptions struct {
	// Rules are tried in order; the first that matches a name decides.
	Rules []FilterRule
	// NewerThan, if set, takes only files modified at or after it;
	// OlderThan only files modified before it.
	NewerThan, OlderThan time.Time
	// MinSize, if more than 0, takes only files of at least that many
	// bytes; MaxSize, if more than 0, only files of at most that many.
	MinSize, MaxSize int64
}

// Filter decides which files and folders of a tree are taken: by a mirror
// (either way), by a get whose URL is a pattern, by put -r. Names are
// matched in the form of a path relative to the tree's top ("a/b/c.csv",
// slash-separated, whichever side it is on).
//
// Patterns:
//
//   - A pattern without a / matches the last name at any depth: *.tmp
//     matches x.tmp and a/b/x.tmp (as rsync and rclone do).
//   - A pattern with a / is matched against the whole relative path: it is
//     anchored at the top (as .gitignore does; rsync and rclone would also
//     match it deeper). A leading / changes nothing: /a/*.csv is a/*.csv.
//     To match a path at any depth, start it with **/.
//   - A trailing / makes a pattern match folders only: cache/.
//   - * and ? do not cross a /; ** does, and as a whole folder name stands
//     for zero or more folders: logs/**/x matches logs/x and logs/a/b/x.
//     [a-z], [!0-9] and [^0-9] are classes, and \ takes the next
//     character as itself. Matching is case-sensitive.
//
// Deciding: the rules are tried in the order given (on the command line,
// --include and --exclude in the order typed), and the first that matches
// decides. A name no rule matches is taken when all rules are excludes,
// and left out as soon as there is one include rule (as in rclone: with
// includes only, only what they match is taken; with excludes only, all
// but what they match). So an include is never an exception that widens:
// to leave out logs but keep keep.log and everything else, write
// --include keep.log --exclude '*.log' --include '**'.
//
// Folders: a folder is looked into unless an exclude rule matches it
// before any include rule does. An include rule counts for a folder when
// it could match something inside it: *.csv (any depth) counts for every
// folder, data/** for data but not for logs. So --include '*.csv' finds
// CSV files at any depth, and --include 'data/**' looks only into data.
// A folder that is not looked into is left out with all it holds, even
// names an include would match (--exclude tmp --include '*.csv' takes
// no tmp/x.csv), as in rsync.
//
// Sizes and times apply to files only, after the rules: a file whose size
// or time the listing does not give is left out when a bound on it is
// set (it cannot be shown to be within).
//
// What a Filter leaves out is not touched in any way: not copied, and
// never deleted or removed (a mirror's deletes and --remove-source-files
// act only on names the Filter takes).
//
// A nil *Filter takes everything.
type Filter struct {
	rules    []rule
	includes bool
	o        FilterOptions
}

type rule struct {
	exclude  bool
	anchored bool // matched against the whole path, else the last name
	dirOnly  bool // a trailing /: folders only
	g        *glob
}

// NewFilter checks the rules' patterns and the bounds, and makes the
// Filter. An error wraps ErrBadPattern and names the pattern.
func NewFilter(o FilterOptions) (*Filter, error) {
	f := &Filter{o: o}
	f.o.Rules = append([]FilterRule(nil), o.Rules...)
	for _, fr := range o.Rules {
		r, err := compileRule(fr)
		if err != nil {
			return nil, err
		}
		f.rules = append(f.rules, r)
		f.includes = f.includes || !fr.Exclude
	}
	switch {
	case o.MinSize < 0 || o.MaxSize < 0:
		return nil, fmt.Errorf("size bounds must not be negative")
	case o.MaxSize > 0 && o.MinSize > o.MaxSize:
		return nil, fmt.Errorf("the least size (%d) is above the greatest (%d): nothing could be taken", o.MinSize, o.MaxSize)
	case !o.NewerThan.IsZero() && !o.OlderThan.IsZero() && !o.NewerThan.Before(o.OlderThan):
		return nil, fmt.Errorf("newer than %s and older than %s: nothing could be taken", o.NewerThan.Format(time.RFC3339), o.OlderThan.Format(time.RFC3339))
	}
	return f, nil
}

func compileRule(fr FilterRule) (rule, error) {
	p := fr.Pattern
	r := rule{exclude: fr.Exclude}
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(p, "\\/") {
		r.dirOnly = true
		p = strings.TrimSuffix(p, "/")
	}
	if strings.HasPrefix(p, "/") {
		r.anchored = true
		p = strings.TrimPrefix(p, "/")
	}
	r.anchored = r.anchored || strings.Contains(p, "/")
	g, err := compileGlob(p)
	if err != nil {
		return r, fmt.Errorf("pattern %s: %w", strconv.Quote(fr.Pattern), err)
	}
	r.g = g
	return r, nil
}

// Options returns what f was made from.
func (f *Filter) Options() FilterOptions { return f.o }

// Includes reports whether the file or folder at rel (relative to the
// top, slash-separated, without a leading /) is taken; for a folder,
// whether to look into it. size is a file's size in bytes (-1 when not
// known), modTime its modification time (zero when not known).
func (f *Filter) Includes(rel string, isDir bool, size int64, modTime time.Time) bool {
	if f == nil {
		return true
	}
	if !f.byRules(rel, isDir) {
		return false
	}
	if isDir {
		return true
	}
	o := f.o
	if (o.MinSize > 0 || o.MaxSize > 0) && size < 0 {
		return false
	}
	if o.MinSize > 0 && size < o.MinSize || o.MaxSize > 0 && size > o.MaxSize {
		return false
	}
	if !o.NewerThan.IsZero() || !o.OlderThan.IsZero() {
		if !resume.UsableTime(modTime) {
			return false
		}
		if !o.NewerThan.IsZero() && modTime.Before(o.NewerThan) || !o.OlderThan.IsZero() && !modTime.Before(o.OlderThan) {
			return false
		}
	}
	return true
}

// byRules is the rules' decision.
func (f *Filter) byRules(rel string, isDir bool) bool {
	base := path.Base(rel)
	for _, r := range f.rules {
		name := base
		if r.anchored {
			name = rel
		}
		matches := (isDir || !r.dirOnly) && r.g.match(name)
		if matches {
			return !r.exclude
		}
		// A folder is looked into for an include that could match
		// something inside it.
		if isDir && !r.exclude && (!r.anchored || r.g.matchesBelow(rel)) {
			return true
		}
	}
	return !f.includes
}
