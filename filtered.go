package keepftp

import (
	"time"

	"github.com/keepftp/keepftp/control"
)

// Where Options.Filter is asked. The Filter itself is in filter.go; these
// are the places of the walks that consult it.

// takes reports whether Options.Filter takes a mirror's entry rel (below
// the top, slash-separated), on either side: a file to copy, a folder to
// look into. What it leaves out is not walked, on the source nor on the
// destination: it is neither copied nor touched.
func (c *Client) takes(rel string, dir bool, size int64, mod time.Time) bool {
	f := c.o.Filter
	return f == nil || f.Includes(rel, dir, size, mod)
}

// takesListed reports whether Options.Filter takes a file a pattern
// matched in its folder's listing: its name is its path relative to that
// folder.
func (c *Client) takesListed(e control.Entry) bool {
	return c.o.Filter.Includes(e.Name, false, e.Size, e.ModTime)
}
