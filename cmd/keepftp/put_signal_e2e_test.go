package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// TestPutStopsOnSignal: an interrupt (SIGINT) in the middle of `put -P 2`
// of 30 files ends it with 130, and no upload starts after it. A file takes
// half a second (--limit-rate), so each of the two workers can have sent
// at most one STOR between the count taken before the signal and the
// signal itself; the server never sees more, and the files never started
// are not on it. (put used to keep starting uploads after Ctrl-C.)
func TestPutStopsOnSignal(t *testing.T) {
	t.Parallel()
	srv := ftptest.StartServer(t, testserver.Options{})
	dir := t.TempDir()
	args := []string{"put", "-q", "-P", "2", "--limit-rate", "256K"}
	for i := range 30 {
		name := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		os.WriteFile(name, ftptest.RandomBytes(128<<10), 0o644)
		args = append(args, name)
	}
	r := startKeepftp(t, nil, false, append(args, "ftp://"+srv.Addr()+"/up/")...)
	ctx, stop := context.WithTimeout(t.Context(), time.Minute) // a bound, not a measure
	defer stop()
	if _, err := srv.WaitStats(ctx, func(st testserver.Stats) bool { return st.Uploads >= 4 }); err != nil {
		r.Interrupt()
		t.Fatalf("the batch never got going: %v\n%s", err, r.Stderr.String())
	}
	before := srv.Stats().Uploads
	interruptRun(t, r)
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
