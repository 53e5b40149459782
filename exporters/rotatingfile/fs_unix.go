//go:build unix

package rotatingfile

import (
	"errors"
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

// lockActive marks f, the file being written, as in use, for the other
// processes that may share the directory (a rolling deploy overlaps the
// old and the new): their Start and retention leave a locked file alone.
// The kernel drops the lock when the file is closed or the process dies,
// however it dies. Best effort: a file that cannot be locked is written
// all the same; shared reports that another process holds it (it appends
// to the same fixed name).
func lockActive(f file) (shared bool) {
	withFd(f, func(fd uintptr) {
		shared = errors.Is(flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB), syscall.EWOULDBLOCK)
	})
	return shared
}

// flock is syscall.Flock; tests replace it to act as NFS does.
var flock = syscall.Flock

// lockedElsewhere reports whether another open file holds a lock on the
// file f reads, taking the lock itself otherwise (released when f closes).
func lockedElsewhere(f file) bool {
	held := false
	withFd(f, func(fd uintptr) {
		err := flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != nil && !errors.Is(err, syscall.EWOULDBLOCK) {
			// On NFS, Linux makes flock a byte-range lock, and an
			// exclusive one needs the file open for writing: EBADF for
			// the read-only files probed here. A shared lock needs only
			// reading and conflicts with the writer's exclusive one all
			// the same.
			err = flock(int(fd), syscall.LOCK_SH|syscall.LOCK_NB)
		}
		held = errors.Is(err, syscall.EWOULDBLOCK)
	})
	return held
}

// inUse reports whether the file at path is another writer's active file.
func inUse(path string) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow|noBlock, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	return lockedElsewhere(f)
}

func withFd(f file, do func(fd uintptr)) {
	sc, ok := f.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return
	}
	if rc, err := sc.SyscallConn(); err == nil {
		_ = rc.Control(do)
	}
}
