package ftptest

import (
	"crypto/rand"
	"testing"

	"github.com/keepftp/keepftp/testserver"
)

// StartServer starts the embedded test server for t and closes it when t
// ends.
func StartServer(t testing.TB, opts testserver.Options) *testserver.Server {
	t.Helper()
	srv, err := testserver.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// StartMiddlebox starts a middlebox for t and closes it when t ends.
func StartMiddlebox(t testing.TB, opts testserver.MiddleboxOptions) *testserver.Middlebox {
	t.Helper()
	mb, err := testserver.NewMiddlebox(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb
}

// RandomBytes returns n random bytes: file contents that no REST mistake
// can pass for the right data.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
