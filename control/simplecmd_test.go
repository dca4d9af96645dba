package control

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestDeleteSendsDELE: Delete is DELE of the path; a 250 (or any 2xx) is
// done, a 550 is a permanent *ReplyError that names the command.
func TestDeleteSendsDELE(t *testing.T) {
	t.Parallel()
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		fs.Login()
		fs.Serve("DELE /dir/a b.txt", "250 Deleted")
		fs.Serve("DELE /gone", "550 No such file")
		fs.Serve("QUIT", "221 bye")
	})
	ctx := t.Context()
	c, err := Dial(ctx, addr, Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Delete(ctx, "/dir/a b.txt"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	err = c.Delete(ctx, "/gone")
	var re *ReplyError
	if !errors.As(err, &re) || re.Code != 550 || !IsPermanent(err) || !strings.Contains(err.Error(), "DELE /gone") {
		t.Errorf("Delete of a missing file: %v, want a permanent 550 naming DELE /gone", err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRemoveDirAndChangeDir: RemoveDir is RMD of the path, ChangeDir CWD;
// a 250 (or any 2xx) is done; a folder that is not empty, or that cannot
// be entered, is the server's refusal, a permanent *ReplyError that names
// the command.
func TestRemoveDirAndChangeDir(t *testing.T) {
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		fs.Login()
		fs.Serve("RMD /dir/empty one", "250 Directory removed")
		fs.Serve("RMD /dir", "550 Directory not empty")
		fs.Serve("CWD /locked", "550 Failed to change directory.")
		fs.Serve("CWD /dir", "250 Directory successfully changed.")
		fs.Serve("QUIT", "221 bye")
	})
	ctx := t.Context()
	c, err := Dial(ctx, addr, Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.RemoveDir(ctx, "/dir/empty one"); err != nil {
		t.Errorf("RemoveDir: %v", err)
	}
	err = c.RemoveDir(ctx, "/dir")
	var re *ReplyError
	if !errors.As(err, &re) || re.Code != 550 || !IsPermanent(err) || !strings.Contains(err.Error(), "RMD /dir") {
		t.Errorf("RemoveDir of a folder that is not empty: %v, want a permanent 550 naming RMD /dir", err)
	}
	if err := c.ChangeDir(ctx, "/locked"); !IsCode(err, 550) || !strings.Contains(err.Error(), "CWD /locked") {
		t.Errorf("ChangeDir into a folder the server cannot enter: %v, want a 550 naming CWD /locked", err)
	}
	if err := c.ChangeDir(ctx, "/dir"); err != nil {
		t.Errorf("ChangeDir: %v", err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}
