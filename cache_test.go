package keepftp

import (
	"os"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestMain keeps the server profiles these tests learn out of the user's
// cache, and runs the parallel tests, which mostly wait, 8 at once
// (ftptest.Main).
func TestMain(m *testing.M) { os.Exit(ftptest.Main(m)) }
