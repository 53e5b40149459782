//go:build unix

package testdest

import (
	"os"
	"sync"
	"syscall"
	"testing"
)

// HoldLock takes an exclusive flock on path (created if missing) as
// another process would: through a file of its own, which the code under
// test knows nothing of. It waits while the lock is held. The returned
// function lets it go, as that process's exit would; so does the test's
// end.
func HoldLock(t testing.TB, path string) (release func()) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { _ = f.Close() }) }
	t.Cleanup(release)
	return release
}
