//go:build !linux

package resume

import "os"

// preallocate gives f its final size (a sparse file; Linux reserves the
// blocks, see preallocate_linux.go).
func preallocate(f *os.File, size int64) error { return f.Truncate(size) }
