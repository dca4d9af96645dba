package transfer

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// writeBackEvery is how much a download writes before it asks the kernel
// to start writing those bytes to disk.
const writeBackEvery = 8 << 20

// writeBack starts the kernel's write-back of a download's file while the
// download runs (sync_file_range SYNC_FILE_RANGE_WRITE on each range just
// written), so the fsync before the rename finds little left to write
// instead of the whole file. It neither waits for the disk nor makes the
// data durable: the fsync still does that. nil (not a regular file, or a
// kernel or file system without it) does nothing.
type writeBack struct {
	f          *os.File
	start, end int64 // written since the last request: [start, end)
}

func newWriteBack(w io.Writer) *writeBack {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil
	}
	return &writeBack{f: f, start: off, end: off}
}

// add notes n more bytes written at the file's offset.
func (wb *writeBack) add(n int64) {
	if wb == nil || wb.f == nil {
		return
	}
	wb.end += n
	if wb.end-wb.start < writeBackEvery {
		return
	}
	rc, err := wb.f.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) {
			err = unix.SyncFileRange(int(fd), wb.start, wb.end-wb.start, unix.SYNC_FILE_RANGE_WRITE)
		})
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		wb.f = nil // unsupported here: the final fsync does it all
		return
	}
	wb.start = wb.end
}
