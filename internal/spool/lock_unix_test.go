//go:build unix

package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/internal/testdest"
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

	// A spool of this process that is closing is a wait, as its closing
	// may go on past its owner's deadline (a stalled disk).
	s.Closing()
	_, _, err = Open(Config{Dir: dir})
	require.ErrorIs(t, err, ErrInUse, "closing here: a wait")
	require.NotErrorIs(t, err, ErrOpenHere)

	// Another process (its lock, taken by a file of its own) is a wait.
	require.NoError(t, s.Close())
	other := testdest.HoldLock(t, filepath.Join(dir, "lock"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lock"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)) // its pid, as its Open writes
	_, _, err = Open(Config{Dir: dir})
	require.ErrorIs(t, err, ErrInUse)
	assert.Contains(t, err.Error(), fmt.Sprintf("process %d", os.Getpid()))
	other()
	s, _ = open(t, Config{Dir: dir})
	require.NoError(t, s.Close(), "released by Close")
}
