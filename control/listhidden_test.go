package control_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// ListHidden asks LIST -a where the connection lists with LIST, and says
// the listing shows every name; a server that refuses the option gets a
// plain LIST, and the caller is told names with a dot may be missing.
// With MLSD every name is listed as it is.
func TestListHidden(t *testing.T) {
	for _, tc := range []struct {
		name          string
		mlst, refuseA bool
		verb          string
		all           bool
	}{
		{"MLSD", true, false, "MLSD /d", true},
		{"LIST -a", false, false, "LIST -a /d", true},
		{"LIST -a refused", false, true, "LIST /d", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ftptest.StartFake(t)
			f.MLST = tc.mlst
			var last string
			f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
				if verb == "LIST" || verb == "MLSD" {
					last = verb + " " + arg
					if tc.refuseA && strings.HasPrefix(arg, "-a") {
						s.Reply("501 no such file")
						return true
					}
				}
				return false
			}
			f.WriteFile("/d/.hidden", []byte("x"), time.Now())
			f.WriteFile("/d/shown", []byte("y"), time.Now())
			c := dialFakeTCP(t, f)
			entries, all, err := c.ListHidden(t.Context(), "/d")
			if err != nil || len(entries) != 2 || all != tc.all || last != tc.verb {
				t.Errorf("%d entries, all %v, %v; last %q; want 2, %v, %q", len(entries), all, err, last, tc.all, tc.verb)
			}
		})
	}
}
