package control

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestHashRefusalRemembered: a hash command the server announced but
// refuses as not implemented (502 for HASH, 202 for XSHA1) is not sent
// again on the connection, and the next algorithm is still offered; a
// reply about the file (550) is not a refusal of the command; a later
// connection told of the refusal (Config.NoHash) does not ask either.
func TestHashRefusalRemembered(t *testing.T) {
	t.Parallel()
	f := ftptest.StartFake(t)
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch {
		case verb == "FEAT":
			s.Reply("211-Features:", " SIZE", " HASH SHA-256*", " XSHA1", "211 End")
		case verb == "OPTS":
			s.Reply("200 SHA-256")
		case arg == "/gone":
			s.Reply("550 no such file")
		case verb == "HASH":
			s.Reply("502 not implemented")
		case verb == "XSHA1":
			s.Reply("202 superfluous")
		default:
			return false
		}
		return true
	}
	ctx := t.Context()
	c, err := Dial(ctx, f.Addr(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Hash(ctx, SHA256, "/gone"); err == nil || errors.Is(err, ErrHashRefused) || !IsCode(err, 550) {
		t.Errorf("HASH of a missing file: %v, want a 550 that is not a refusal", err)
	}
	for range 2 {
		if _, err := c.Hash(ctx, SHA256, "/f"); err == nil {
			t.Error("HASH answered 502 gave no error")
		}
	}
	if n := f.Count("HASH"); n != 2 {
		t.Errorf("the server got %d HASH commands, want 2 (the 550 and the one 502)", n)
	}
	if got := c.HashAlgos(); !slices.Equal(got, []string{SHA1}) {
		t.Errorf("usable after HASH's refusal: %v, want [SHA-1] through XSHA1", got)
	}
	if _, err := c.Hash(ctx, SHA1, "/f"); !errors.Is(err, ErrHashRefused) {
		t.Errorf("XSHA1 answered 202: %v, want ErrHashRefused", err)
	}
	if got, refused := c.HashAlgos(), c.HashRefused(); len(got) != 0 || !slices.Equal(refused, []string{"HASH", "XSHA1"}) {
		t.Errorf("usable %v, refused %v; want none usable, HASH and XSHA1 refused", got, refused)
	}

	f.ResetCounts()
	c2, err := Dial(ctx, f.Addr(), Config{NoHash: []string{"HASH"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got := c2.HashAlgos(); !slices.Equal(got, []string{SHA1}) {
		t.Errorf("usable with NoHash HASH: %v, want [SHA-1]", got)
	}
	optsHash := func() int { // OPTS HASH, not the login's OPTS UTF8 ON
		n := 0
		for _, cmd := range f.Log() {
			if strings.HasPrefix(cmd, "OPTS HASH") {
				n++
			}
		}
		return n
	}
	before := optsHash()
	_, err = c2.Hash(ctx, SHA256, "/f")
	if optsHash := optsHash() - before; err == nil || f.Count("HASH")+optsHash != 0 {
		t.Errorf("SHA-256 with HASH known refused: %v; the server got %d HASH, %d OPTS HASH, want none", err, f.Count("HASH"), optsHash)
	}
}
