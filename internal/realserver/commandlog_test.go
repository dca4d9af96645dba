package realserver

import (
	"errors"
	"path"
	"slices"
	"testing"
	"time"
)

// TestCommands: with LogCommands each server's own log records the
// commands it received, in order, and Commands reads them back in one
// form ("MKD /upload/d"), whatever the server's log looks like; the
// password is not there in the clear. RMD takes an empty folder (250) and
// refuses one that is not (550), as docs/servers.md says.
func TestCommands(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind Kind) {
		s := Start(t, kind, Options{LogCommands: true})
		c := dial(t, s)
		c.login()
		dir := path.Join(s.UploadDir, "logged dir")
		c.cmd("MKD "+dir, 257)
		c.cmd("RMD "+dir, 250)
		c.cmd("DELE "+path.Join(s.UploadDir, "missing"), 550)
		full := path.Join(s.UploadDir, "full")
		if err := s.WriteFile(path.Join(full, "f"), []byte("f")); err != nil {
			t.Fatal(err)
		}
		c.cmd("RMD "+full, 550) // not empty: refused, nothing removed
		if _, err := s.ReadFile(path.Join(full, "f")); err != nil {
			t.Errorf("RMD of a folder that is not empty: %v", err)
		}
		c.cmd("QUIT", 221)
		want := []string{"MKD " + dir, "RMD " + dir, "DELE " + path.Join(s.UploadDir, "missing"), "RMD " + full}
		var got []string
		deadline := time.Now().Add(5 * time.Second) // a bound on the server writing its log
		for {
			cmds, err := s.Commands()
			if errors.Is(err, ErrNoCommandLog) {
				t.Skipf("%v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			got = cmds
			if i := slices.Index(got, want[0]); i >= 0 && len(got) >= i+len(want) && slices.Equal(got[i:i+len(want)], want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		i := slices.Index(got, want[0])
		if i < 0 || len(got) < i+len(want) || !slices.Equal(got[i:i+len(want)], want) {
			t.Errorf("Commands() = %q, want %q in it", got, want)
		}
		for _, l := range got {
			if l == "PASS "+s.Password && s.Password != "" {
				t.Errorf("the password is in the log: %q", l)
			}
		}
		t.Logf("%s: %q", kind, got)
	})
}
