package keepftp

import (
	"path/filepath"

	"github.com/keepftp/keepftp/control"
)

// Where Options.Filter is asked. The Filter itself is in filter.go; these
// are the places of the walks that consult it.

// takes reports whether Options.Filter takes a mirror's entry e, to be
// copied to lp: a file to copy, a folder to look into.
func (m *mirror) takes(lp string, e control.Entry) bool {
	f := m.c.o.Filter
	if f == nil {
		return true
	}
	rel, err := filepath.Rel(m.top, lp)
	if err != nil {
		return true // lp is made under m.top: cannot happen
	}
	return f.Includes(filepath.ToSlash(rel), e.Type == control.Dir, e.Size, e.ModTime)
}

// takesListed reports whether Options.Filter takes a file a pattern
// matched in its folder's listing: its name is its path relative to that
// folder.
func (c *Client) takesListed(e control.Entry) bool {
	return c.o.Filter.Includes(e.Name, false, e.Size, e.ModTime)
}
