package doctor

import (
	"os"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestMain keeps the server profiles these tests learn out of the user's
// cache.
func TestMain(m *testing.M) { os.Exit(ftptest.RunWithTempCache(m)) }
