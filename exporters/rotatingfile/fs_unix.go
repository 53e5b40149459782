//go:build unix

package rotatingfile

import (
	"os"
	"syscall"
)

// noFollow makes an open fail on a symbolic link instead of following it.
const noFollow = syscall.O_NOFOLLOW

// writable reports whether the process may create files in dir.
func writable(dir string) error { return syscall.Access(dir, 0x2 /* W_OK */) }

// noBlock keeps a FIFO planted at a rotated file's path from blocking the
// janitor's open (and its reads) for good; for a regular file it changes
// nothing.
const noBlock = syscall.O_NONBLOCK

// syncOpenFlag opens a file to fsync it: fsync needs no write access here
// (a FIFO then fails the fsync instead of blocking the open).
const syncOpenFlag = os.O_RDONLY | noBlock

// linked reports whether f still has a name in some directory: a file
// moved away has, a deleted one has not, and lines written to it are gone.
func linked(f file) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink > 0
}
