//go:build unix

package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOneProcessPerDirectory(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Config{Dir: dir})
	_, _, err := Open(Config{Dir: dir})
	require.ErrorIs(t, err, ErrOpenHere, "this process has it: a mistake, not a wait")
	require.NotErrorIs(t, err, ErrInUse)
	assert.Contains(t, err.Error(), dir)
	_, _, err = Open(Config{Dir: dir + "/."})
	require.ErrorIs(t, err, ErrOpenHere, "the same directory by another name")

	// Another process (its lock, taken by a file of its own) is a wait.
	require.NoError(t, s.Close())
	other := holdLock(t, dir)
	_, _, err = Open(Config{Dir: dir})
	require.ErrorIs(t, err, ErrInUse)
	assert.Contains(t, err.Error(), fmt.Sprintf("process %d", os.Getpid()))
	other()
	s, _ = open(t, Config{Dir: dir})
	require.NoError(t, s.Close(), "released by Close")
}

// holdLock takes the directory's lock as another process's Open would,
// through a file of its own, without this process's spools knowing; the
// returned function lets it go.
func holdLock(t *testing.T, dir string) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	var once sync.Once
	release := func() { once.Do(func() { _ = f.Close() }) }
	t.Cleanup(release)
	return release
}
