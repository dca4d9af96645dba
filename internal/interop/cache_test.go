package interop

import (
	"os"
	"testing"
)

// TestMain keeps the server profiles these tests learn out of the user's
// cache: XDG_CACHE_HOME names a temporary directory for this process and
// the commands it starts.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keepftp-cache")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
