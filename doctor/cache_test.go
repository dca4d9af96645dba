package doctor

import (
	"os"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

// TestMain keeps the server profiles these tests learn out of the user's
// cache. The parallel tests run one per CPU (go test's default), not 8 at
// once as elsewhere (ftptest.Main): an abort in answer to a NOOP counts
// only when the server's reply comes within two round trips and 50 ms of
// the NOOP, and with 8 probes at once the in-process test server answered
// later (TestDoctorNoopBehaviour/NoopAborts failed 1 run in 5).
func TestMain(m *testing.M) { os.Exit(ftptest.RunWithTempCache(m)) }
