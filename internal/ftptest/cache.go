package ftptest

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// Main runs a test binary's tests: a package's TestMain calls
// os.Exit(ftptest.Main(m)). It keeps the server profiles the tests learn
// out of the user's cache (RunWithTempCache) and, unless -parallel is
// given, runs up to Parallel() tests that call t.Parallel at once.
func Main(m *testing.M) int {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if p := flag.Lookup("test.parallel"); p != nil && !given {
		p.Value.Set(strconv.Itoa(Parallel()))
	}
	return RunWithTempCache(m)
}

// Parallel is how many parallel tests Main runs at once by default: one per
// CPU (go test's default), and at least 8. keepftp's tests mostly wait:
// on the rate limits of test servers, on timeouts, on real servers'
// processes; at one per CPU a two-core machine sits idle through them.
func Parallel() int { return max(8, runtime.GOMAXPROCS(0)) }

// RunWithTempCache runs a test binary's tests with XDG_CACHE_HOME naming a
// temporary directory, for this process and the commands it starts, so
// that the server profiles the tests learn stay out of the user's cache.
func RunWithTempCache(m *testing.M) int {
	dir, err := os.MkdirTemp("", "keepftp-cache")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	os.Setenv("XDG_CACHE_HOME", dir)
	return m.Run()
}
