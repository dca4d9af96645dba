package control

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// The reply classes the layers above act on come as errors they match
// with errors.Is, through any wrapping, so that no reply code is tested
// above control.
func TestReplyClassesAreErrors(t *testing.T) {
	t.Parallel()
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		fs.Login()
		fs.Serve("SIZE /gone", "550 No such file")
		fs.Serve("SIZE /busy", "450 Busy")
		fs.Serve("STOR /full", "552 Quota exceeded")
		fs.Serve("MKD /x", "553 Name not allowed")
		fs.Serve("NOOP", "421 Timeout, closing")
	})
	c, err := Dial(t.Context(), addr, Config{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	check := func(what string, err error, want, not []error) {
		t.Helper()
		err = fmt.Errorf("wrapped: %w", err)
		for _, w := range want {
			if !errors.Is(err, w) {
				t.Errorf("%s: %v is not %v", what, err, w)
			}
		}
		for _, n := range not {
			if errors.Is(err, n) {
				t.Errorf("%s: %v is %v", what, err, n)
			}
		}
	}
	all := []error{ErrNotFound, ErrLoginRefused, ErrUnavailable, ErrStorageRefused}
	_, err = c.Size(t.Context(), "/gone")
	check("550", err, []error{ErrNotFound}, all[1:])
	_, err = c.Size(t.Context(), "/busy")
	check("450", err, nil, all)
	_, err = c.Cmd(t.Context(), 1, "STOR", "/full")
	check("552", err, []error{ErrStorageRefused}, all[:3])
	check("553", c.Mkdir(t.Context(), "/x"), []error{ErrStorageRefused}, all[:3])
	_, err = c.Cmd(t.Context(), 2, "NOOP", "")
	check("421", err, []error{ErrUnavailable}, []error{ErrNotFound, ErrLoginRefused, ErrStorageRefused})
}

func TestLoginRefusedIsAnError(t *testing.T) {
	t.Parallel()
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		fs.Send("220 hi")
		fs.Serve("USER alice", "331 pw")
		fs.Serve("PASS pw", "530 Login incorrect")
	})
	_, err := Dial(t.Context(), addr, Config{User: "alice", Password: "pw", Timeout: 30 * time.Second})
	if !errors.Is(err, ErrLoginRefused) || errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrLoginRefused", err)
	}
	if re, ok := SessionRefused(err); !ok || !errors.Is(re, ErrLoginRefused) {
		t.Fatalf("SessionRefused(%v) = %v, %v", err, re, ok)
	}
}
