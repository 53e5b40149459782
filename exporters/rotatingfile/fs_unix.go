//go:build unix

package rotatingfile

import "syscall"

// noFollow makes an open fail on a symbolic link instead of following it.
const noFollow = syscall.O_NOFOLLOW

// writable reports whether the process may create files in dir.
func writable(dir string) error { return syscall.Access(dir, 0x2 /* W_OK */) }
