package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// TestPutStopsOnSignal: SIGINT in the middle of `put -P 2` of 30 files
// ends it with 130, and no upload starts after the signal. A file takes
// half a second (--limit-rate), so each of the two workers can have sent
// at most one STOR between the count taken before the signal and the
// signal itself; the server never sees more, and the files never started
// are not on it. (put used to keep starting uploads after Ctrl-C.)
func TestPutStopsOnSignal(t *testing.T) {
	bin := keepftpBinary(t)
	srv := ftptest.StartServer(t, testserver.Options{})
	dir := t.TempDir()
	args := []string{"put", "-q", "-P", "2", "--limit-rate", "256K"}
	for i := range 30 {
		name := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		os.WriteFile(name, ftptest.RandomBytes(128<<10), 0o644)
		args = append(args, name)
	}
	cmd := exec.Command(bin, append(args, "ftp://"+srv.Addr()+"/up/")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithTimeout(t.Context(), time.Minute) // a bound, not a measure
	defer stop()
	if _, err := srv.WaitStats(ctx, func(st testserver.Stats) bool { return st.Uploads >= 4 }); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the batch never got going: %v\n%s", err, stderr.String())
	}
	before := srv.Stats().Uploads
	interruptAndWait(t, cmd, syscall.SIGINT, &stderr)
	srv.WaitStats(ctx, func(st testserver.Stats) bool { return st.ActiveConns == 0 })
	after := srv.Stats().Uploads
	if after > before+2 {
		t.Errorf("%d STORs before the signal, %d in all: uploads started after it", before, after)
	}
	onServer := 0
	for i := range 30 {
		if _, err := srv.Fs().Stat(fmt.Sprintf("/up/f%02d", i)); err == nil {
			onServer++
		}
	}
	if onServer > int(after) || after >= 30 {
		t.Errorf("%d files on the server after %d STORs of 30", onServer, after)
	}
	t.Logf("%d STORs before SIGINT, %d in all; %d of 30 files on the server", before, after, onServer)
}
