package testserver

import (
	"slices"
	"testing"
)

// TestCommandsLogsWhatArrived: the log holds the commands in order, as
// written, with the password masked.
func TestCommandsLogsWhatArrived(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{})
	if err := srv.WriteFile("/a.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, srv.Addr())
	c.cmd(331, "USER anonymous")
	c.cmd(230, "PASS s3cret")
	c.cmd(250, "DELE /a.txt")
	c.cmd(221, "QUIT")
	got := srv.Commands()
	want := []string{"USER anonymous", "PASS ****", "DELE /a.txt", "QUIT"}
	if !slices.Equal(got, want) {
		t.Errorf("Commands() = %q, want %q", got, want)
	}
	if _, err := srv.Fs().Stat("/a.txt"); err == nil {
		t.Error("DELE did not remove the file")
	}
}

// TestRemoveAsRealServers: RMD removes an empty directory only and DELE a
// file only, as rmdir(2), unlink(2) and every real server do (the
// in-memory filesystem alone would remove a directory with all it holds).
func TestRemoveAsRealServers(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{})
	if err := srv.WriteFile("/d/sub/f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, srv.Addr())
	c.login()
	c.cmd(550, "RMD /d")
	c.cmd(550, "DELE /d/sub")
	c.cmd(550, "RMD /d/sub/f")
	if _, err := srv.Fs().Stat("/d/sub/f"); err != nil {
		t.Fatalf("a refused RMD or DELE removed what the directory held: %v", err)
	}
	c.cmd(250, "DELE /d/sub/f")
	c.cmd(250, "RMD /d/sub")
	c.cmd(250, "RMD /d")
	if _, err := srv.Fs().Stat("/d"); err == nil {
		t.Error("RMD of the emptied directory did not remove it")
	}
}
