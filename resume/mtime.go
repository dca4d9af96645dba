package resume

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keepftp/keepftp/control"
)

// keepTime gives the uploaded file at path the local file's modification
// time, and reads it back to check it: the way o.Times knows for the
// server, or else each way it may take (MFMT where FEAT lists it, then
// MDTM with a time, then SITE UTIME) until one reads back right; what it
// finds is learned. Outcome.TimeSet says which way worked. A time that
// cannot be kept does not fail the upload, which is verified already: it
// is warned about (by the memo, once per server, when no way works).
func (p *putter) keepTime(ctx context.Context, c *control.Conn, path string) {
	if p.o.NoMtime || !UsableTime(p.mtime) {
		return
	}
	want := p.mtime.UTC().Truncate(time.Second)
	memo := p.o.Times
	var ways []string
	if memo != nil {
		if how, known := memo.TimeMethod(p.t); known {
			if how == "" {
				return // no way works there: said once already
			}
			ways = []string{how}
		}
	}
	learning := ways == nil
	if learning {
		for _, how := range control.SetTimeMethods {
			if how != control.SetTimeMFMT || c.Features().Has("MFMT") {
				ways = append(ways, how)
			}
		}
	}
	var tried []string
	for _, how := range ways {
		got, setErr, err := c.SetModTime(ctx, how, path, want)
		switch {
		case err != nil && !control.IsPermanent(err) && !errors.Is(err, control.ErrMalformedReply):
			// The connection, not the way: nothing learned.
			p.o.warn("%s: the file's time was not set: %v", p.t, err)
			return
		case setErr == nil && err == nil && got.Truncate(time.Second).Equal(want):
			p.out.TimeSet = how
			if learning && memo != nil {
				memo.LearnTimeMethod(p.t, how)
			}
			return
		case setErr != nil:
			tried = append(tried, setErr.Error())
		case err != nil:
			tried = append(tried, fmt.Sprintf("%s answered, and the time could not be read back: %v", how, err))
		default:
			tried = append(tried, fmt.Sprintf("%s answered, and the time read back is %s, not %s", how, got.Format(time.RFC3339), want.Format(time.RFC3339)))
		}
	}
	why := strings.Join(tried, "; ")
	switch {
	case !learning:
		p.o.warn("%s: the file's time was not set: %s", p.t, why)
	case memo != nil:
		p.o.logf("%s: no way to set a file's time worked: %s", p.t, why)
		memo.LearnTimeMethod(p.t, "")
	default:
		p.o.warn("%s: the server takes no file time (%s): the file keeps the time of its upload", p.t, why)
	}
}
