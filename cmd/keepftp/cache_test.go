package main

import (
	"os"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestMain keeps the server profiles these tests learn out of the user's
// cache, and has the race detector of the keepftp binary these tests build
// end it at once: by default it sleeps a second before each exit, which
// made every run a command takes a second longer.
func TestMain(m *testing.M) {
	os.Setenv("GORACE", "atexit_sleep_ms=0 "+os.Getenv("GORACE"))
	os.Exit(ftptest.RunWithTempCache(m))
}
