//go:build !unix

package resume

import (
	"context"
	"errors"
	"os"
)

func dupFD(fd int, name string) (*os.File, error) {
	return nil, &os.PathError{Op: "dup", Path: name, Err: errors.ErrUnsupported}
}

func openFIFO(ctx context.Context, name string) (*os.File, error) {
	return os.OpenFile(name, os.O_WRONLY, 0)
}
