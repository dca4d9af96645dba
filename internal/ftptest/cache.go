package ftptest

import (
	"os"
	"testing"
)

// RunWithTempCache runs a test binary's tests with XDG_CACHE_HOME naming a
// temporary directory, for this process and the commands it starts, so
// that the server profiles the tests learn stay out of the user's cache.
// A package's TestMain calls os.Exit(ftptest.RunWithTempCache(m)).
func RunWithTempCache(m *testing.M) int {
	dir, err := os.MkdirTemp("", "keepftp-cache")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	os.Setenv("XDG_CACHE_HOME", dir)
	return m.Run()
}
