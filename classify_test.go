package keepftp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/resume"
	"github.com/keepftp/keepftp/testserver"
	"github.com/keepftp/keepftp/transfer"
)

// Classify sorts the errors of every layer: the cases are data.
func TestClassify(t *testing.T) {
	t.Parallel()
	_, badURL := ParseURL("ftp://h/f%0D%0ADELE%20x")
	for _, c := range []struct {
		err  error
		want ErrorClass
	}{
		{badURL, BadURL},
		{fmt.Errorf("pattern: %w", ErrBadURL), BadURL},
		{leftOut(errUnsafeName("../x")), LeftOut},
		{leftOut(fmt.Errorf("list: %w", control.ErrPeerDown)), LeftOut},
		{leftOut(context.Canceled), Intentional},
		{fmt.Errorf("get: %w", context.Canceled), Intentional},
		{&control.ReplyError{Cmd: "PASS ****", Code: 530, Msg: "no"}, LoginFailed},
		{&control.ReplyError{Cmd: "RETR /f", Code: 550, Msg: "no such file"}, NotFound},
		{fmt.Errorf("%w", control.ErrNotFound), NotFound},
		{&control.ReplyError{Cmd: "STOR /f", Code: 553, Msg: "not allowed"}, Permanent},
		{&control.ReplyError{Cmd: "RETR /f", Code: 421, Msg: "busy"}, Transient},
		{fmt.Errorf("RETR: %w", control.ErrPeerDown), Transient},
		{&transfer.LocalError{Err: os.ErrPermission}, LocalFailed},
		{fmt.Errorf("%w: sha256", resume.ErrVerify), VerifyFailed},
	} {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// The classes of real failures, over TCP: a refused login, a missing
// file, a batch's entry left out.
func TestClassifyFromServer(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{Users: map[string]string{"u": "right"}})
	srv.WriteFile("/d/ok.txt", []byte("ok"))
	dir := t.TempDir()
	c := NewClient(Options{NoProfile: true, Parallel: 1, Retry: RetryPolicy{Retries: 1, MaxAttempts: 1}})
	defer c.Close()
	_, err := c.Get(t.Context(), "ftp://u:wrong@"+srv.Addr()+"/d/ok.txt", filepath.Join(dir, "a"))
	if Classify(err) != LoginFailed {
		t.Errorf("wrong password: %v is %v, want %v", err, Classify(err), LoginFailed)
	}
	_, err = c.Get(t.Context(), "ftp://u:right@"+srv.Addr()+"/d/missing", filepath.Join(dir, "b"))
	if Classify(err) != NotFound {
		t.Errorf("missing file: %v is %v, want %v", err, Classify(err), NotFound)
	}
	rs := c.GetAll(t.Context(), []Job{
		{URL: "ftp://u:right@" + srv.Addr() + "/d/ok.txt", Dst: filepath.Join(dir, "same")},
		{URL: "ftp://u:right@" + srv.Addr() + "/d/ok.txt", Dst: filepath.Join(dir, "same")},
	}, "")
	if len(rs) != 2 || rs[0].Err != nil || Classify(rs[1].Err) != LeftOut || errors.Is(rs[1].Err, ErrBadURL) {
		t.Errorf("a destination given twice: %+v, want the second left out", rs)
	}
}
