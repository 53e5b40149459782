//go:build linux

package rotatingfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/testdest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealDiskFullOnTmpfs fills a real, small tmpfs: the injected-fault test
// above proves the logic, this one that the kernel's ENOSPC (including short
// writes) is handled the same way. It needs root and mount permission and
// skips cleanly without them.
func TestRealDiskFullOnTmpfs(t *testing.T) {
	mnt := testdest.Tmpfs(t, "128k")

	filler := filepath.Join(mnt, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, 96<<10), 0o600))

	dir := filepath.Join(mnt, "logs")
	s, err := NewSink(WithDirectory(dir), WithBuffer(delivery.Buffer{Size: 4096}))
	require.NoError(t, err)
	var flushErr error
	n := 0
	for ; n < 2000 && flushErr == nil; n++ {
		write(t, s, entry(n))
		if n%50 == 49 {
			flushErr = s.Flush(context.Background())
		}
	}
	require.Error(t, flushErr, "the disk never filled")
	assert.True(t, errors.Is(flushErr, syscall.ENOSPC), "got %v", flushErr)
	assert.Positive(t, s.Lost())
	before := readLines(t, dir) // fails on a torn last line
	assert.NotEmpty(t, before)

	require.NoError(t, os.Remove(filler)) // space returns
	write(t, s, entry(100000))
	flush(t, s)
	after := readLines(t, dir)
	assert.Equal(t, entry(100000), after[len(after)-1], "writing resumed by itself")
	assert.Equal(t, before, after[:len(before)], "nothing written before the fault was disturbed")
	stop(t, s)
}
