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
