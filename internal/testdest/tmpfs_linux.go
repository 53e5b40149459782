//go:build linux

package testdest

import (
	"os"
	"syscall"
	"testing"
)

// Tmpfs mounts a tmpfs of the given size ("128k") in a temporary directory
// for the test, unmounted at its end, and returns its path. It skips the
// test when the process may not mount (it needs root and, in a container,
// the capability).
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting tmpfs needs root")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, 0) })
	return mnt
}
