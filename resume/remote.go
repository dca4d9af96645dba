package resume

import (
	"context"
	"errors"
	"fmt"
	"math"
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

// Complete reports whether r holds the facts a transfer can start from
// without asking the server again: a size and a modification time to the
// second (MLSD gives both; a LIST time is only to the minute and is not
// taken as one).
func (r Remote) Complete() bool { return r.Size >= 0 && !r.ModTime.IsZero() }

// The range of times a local file can be given: os.Chtimes passes
// nanoseconds since 1970 in an int64, so a later time (a year-9999 MDTM)
// would wrap around to a date in the past.
var (
	minFileTime = time.Unix(0, math.MinInt64).Add(time.Second)
	maxFileTime = time.Unix(0, math.MaxInt64).Add(-time.Second)
)

// UsableTime reports whether a server's time for a file is one a local
// file can carry: an unusable one is treated as unknown.
func UsableTime(t time.Time) bool {
	return !t.IsZero() && t.After(minFileTime) && t.Before(maxFileTime)
}

// statRemote asks what the server says about path: MLST where offered
// (size, modify and unique in one reply), and SIZE and MDTM together (one
// round trip) for what MLST did not give. A missing file is control.ErrNotFound;
// facts a server does not offer stay unknown, and so do facts it garbles
// (a SIZE that is not a number, negative or overflowing; a time that is no
// time or that no local file can carry): those are warned about, and the
// transfer goes on, checked by what remains. When a transfer of path
// follows at once (transferNext), SIZE and MDTM go with the EPSV that
// opens its data port (control.Conn.StatPassive): the same round trip.
// With next (a function that names the next file, asked only when SIZE
// and MDTM are), SIZE and MDTM of that file go in that round trip too, with
// the EPSV for its transfer.
func (o *Options) statRemote(ctx context.Context, c *control.Conn, path string, transferNext bool, next func() string) (Remote, *Remote, error) {
	r := Remote{Size: -1}
	needSize, needTime := true, true
	if c.Features().Has("MLST") {
		facts, err := c.Mlst(ctx, path)
		switch {
		case errors.Is(err, control.ErrNotFound):
			return r, nil, fmt.Errorf("%s: remote file %w", path, control.ErrNotFound)
		case err == nil:
			if t := facts["type"]; t == "dir" || t == "cdir" || t == "pdir" {
				return r, nil, fmt.Errorf("%s: remote file %w: a directory", path, control.ErrNotFound)
			}
			if v, ok := facts["size"]; ok {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
					r.Size, needSize = n, false
				} else {
					o.warn("%s: the server's MLST size %q is unusable: size unknown", path, v)
				}
			}
			if v, ok := facts["modify"]; ok {
				if t, err := control.ParseTime(v); err == nil && UsableTime(t) {
					r.ModTime, needTime = t, false
				} else {
					o.warn("%s: the server's MLST modify %q is unusable: time unknown", path, v)
				}
			}
			r.Unique = facts["unique"]
		case errors.Is(err, control.ErrMalformedReply):
			o.warn("%s: %v: asking SIZE and MDTM instead", path, err)
		case !control.IsPermanent(err):
			return r, nil, err
		}
	}
	if !needSize && !needTime {
		return r, nil, nil
	}
	var st control.FileStat
	var nextFacts *Remote
	nextPath := ""
	if next != nil {
		nextPath = next()
	}
	switch {
	case nextPath != "":
		sts, err := c.StatPassive(ctx, path, nextPath)
		if err != nil {
			return r, nil, err
		}
		st = sts[0]
		if n := sts[1]; n.SizeErr == nil && n.ModTimeErr == nil && n.Size >= 0 && UsableTime(n.ModTime) {
			nextFacts = &Remote{Size: n.Size, ModTime: n.ModTime}
		}
	case transferNext:
		sts, err := c.StatPassive(ctx, path)
		if err != nil {
			return r, nil, err
		}
		st = sts[0]
	default:
		var err error
		if st, err = c.Stat(ctx, path); err != nil {
			return r, nil, err
		}
	}
	if needSize {
		switch err := st.SizeErr; {
		case err == nil:
			r.Size = st.Size
		case errors.Is(err, control.ErrNotFound):
			return r, nil, fmt.Errorf("%s: remote file %w", path, control.ErrNotFound)
		case errors.Is(err, control.ErrMalformedReply):
			o.warn("%s: %v: size unknown", path, err)
		case !control.IsPermanent(err):
			return r, nil, err
		}
	}
	if needTime {
		switch err := st.ModTimeErr; {
		case err == nil && UsableTime(st.ModTime):
			r.ModTime = st.ModTime
		case err == nil:
			o.warn("%s: the server's MDTM %s is out of range: time unknown", path, st.ModTime.Format("2006-01-02"))
		case errors.Is(err, control.ErrMalformedReply):
			o.warn("%s: %v: time unknown", path, err)
		case !control.IsPermanent(err):
			return r, nil, err
		}
	}
	return r, nextFacts, nil
}

// sameFile reports whether two looks at a remote file show the same file;
// if not, why. Facts unknown on either side are not compared; a file with
// no comparable fact at all cannot be shown unchanged. Times are compared
// to the second: MLST may give fractions that MDTM leaves out.
func sameFile(before, now Remote) (bool, string) {
	compared := false
	if before.Size >= 0 && now.Size >= 0 {
		if before.Size != now.Size {
			return false, fmt.Sprintf("size changed from %d to %d", before.Size, now.Size)
		}
		compared = true
	}
	if !before.ModTime.IsZero() && !now.ModTime.IsZero() {
		if !before.ModTime.Truncate(time.Second).Equal(now.ModTime.Truncate(time.Second)) {
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
