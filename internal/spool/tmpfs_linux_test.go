//go:build linux

package spool

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/fapilog/fapilog-otel/internal/testdest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealDiskFullOnTmpfs fills a real, small tmpfs during Append (the
// kernel's ENOSPC, short writes included), frees space, and goes on; a
// later Open finds every appended entry and nothing corrupt. It needs
// root and mount permission and skips cleanly without them.
func TestRealDiskFullOnTmpfs(t *testing.T) {
	mnt := testdest.Tmpfs(t, "256k")
	filler := filepath.Join(mnt, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, 160<<10), 0o600))

	dir := filepath.Join(mnt, "spool")
	s, _, err := Open(Config{Dir: dir, MaxBytes: 1 << 30})
	require.NoError(t, err)
	appended := 0
	var full error
	for i := 0; i < 10000 && full == nil; i++ {
		if full = s.Append(entries("e", 10)); full == nil {
			appended += 10
		}
	}
	require.ErrorIs(t, full, syscall.ENOSPC)
	require.NoError(t, os.Remove(filler))
	require.NoError(t, s.Append(entries("after", 1)), "space freed: appending goes on")
	appended++
	_, err = s.Seal("k")
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, rec, err := Open(Config{Dir: dir, MaxBytes: 1 << 30})
	require.NoError(t, err)
	total := 0
	for _, b := range rec {
		assert.Zero(t, b.Lost, "no corrupt frame after ENOSPC")
		es, _, missing, err := s.Read(b, nil)
		require.NoError(t, err)
		assert.Zero(t, missing)
		total += len(es)
	}
	assert.Equal(t, appended, total, "every entry whose Append returned nil is there")
	require.NoError(t, s.Close())
}
