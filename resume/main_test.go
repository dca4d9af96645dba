package resume

import (
	"os"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestMain runs the parallel tests, which mostly wait, 8 at once
// (ftptest.Main).
func TestMain(m *testing.M) { os.Exit(ftptest.Main(m)) }
