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

// syncOpenFlag opens a file to fsync it: fsync needs no write access here.
const syncOpenFlag = os.O_RDONLY
