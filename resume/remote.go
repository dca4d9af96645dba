package resume

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/keepftp/keepftp/control"
)

// Remote is what the server says about a file: the facts that tell
// whether it changed between attempts.
type Remote struct {
	Size    int64     `json:"size"`             // -1: unknown
	ModTime time.Time `json:"modtime,omitzero"` // MDTM or MLST modify
	Unique  string    `json:"unique,omitempty"` // MLST unique
}

// statRemote asks SIZE, MDTM and, where offered, MLST. A missing file is
// ErrNotFound; facts a server does not offer stay unknown.
func statRemote(ctx context.Context, c *control.Conn, path string) (Remote, error) {
	r := Remote{Size: -1}
	if c.Features().Has("MLST") {
		facts, err := c.Mlst(ctx, path)
		switch {
		case control.IsCode(err, 550):
			return r, fmt.Errorf("%s: %w", path, ErrNotFound)
		case err == nil:
			if n, err := strconv.ParseInt(facts["size"], 10, 64); err == nil && n >= 0 {
				r.Size = n
			}
			if t, err := control.ParseTime(facts["modify"]); err == nil {
				r.ModTime = t
			}
			r.Unique = facts["unique"]
			if t := facts["type"]; t == "dir" || t == "cdir" || t == "pdir" {
				return r, fmt.Errorf("%s: %w: a directory", path, ErrNotFound)
			}
		case !control.IsPermanent(err):
			return r, err
		}
	}
	if n, err := c.Size(ctx, path); err == nil {
		r.Size = n
	} else if control.IsCode(err, 550) && r.Size < 0 {
		return r, fmt.Errorf("%s: %w", path, ErrNotFound)
	} else if !control.IsPermanent(err) {
		return r, err
	}
	if t, err := c.ModTime(ctx, path); err == nil {
		r.ModTime = t
	} else if !control.IsPermanent(err) {
		return r, err
	}
	return r, nil
}

// sameFile reports whether two looks at a remote file show the same file;
// if not, why. Facts unknown on either side are not compared; a file with
// no comparable fact at all cannot be shown unchanged.
func sameFile(before, now Remote) (bool, string) {
	compared := false
	if before.Size >= 0 && now.Size >= 0 {
		if before.Size != now.Size {
			return false, fmt.Sprintf("size changed from %d to %d", before.Size, now.Size)
		}
		compared = true
	}
	if !before.ModTime.IsZero() && !now.ModTime.IsZero() {
		if !before.ModTime.Equal(now.ModTime) {
			return false, fmt.Sprintf("modification time changed from %s to %s", before.ModTime.Format(time.RFC3339), now.ModTime.Format(time.RFC3339))
		}
		compared = true
	}
	if before.Unique != "" && now.Unique != "" {
		if before.Unique != now.Unique {
			return false, "unique id changed"
		}
		compared = true
	}
	if !compared {
		return false, "the server offers no size or time to compare"
	}
	return true, ""
}
