//go:build unix

package rotatingfile

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A FIFO at the fixed name: lines go through, Flush and Stop succeed (a pipe
// has nothing to fsync).
func TestFIFOAsActiveFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fapilog.jsonl")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		b := make([]byte, 0, 1024)
		buf := make([]byte, 256)
		for {
			n, err := f.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				got <- string(b)
				return
			}
		}
	}()
	s, err := NewSink(WithDirectory(dir), WithFixedName())
	require.NoError(t, err)
	write(t, s, `{"a":1}`, `{"a":2}`)
	require.NoError(t, s.Flush(context.Background()), "flush through a FIFO")
	require.NoError(t, s.Stop(context.Background()), "stop with a FIFO as the active file")
	assert.Equal(t, "{\"a\":1}\n{\"a\":2}\n", <-got)
}

// A signal-driven Reopen stuck behind a hung disk must not make Stop wait
// past its context.
func TestStopDoesNotWaitForSignalReopen(t *testing.T) {
	s, ffs, dir := testSink(t, nil, WithReopenOn(syscall.SIGUSR2))
	require.NoError(t, s.Start(context.Background()))
	write(t, s, entry(1))
	resume := ffs.stallWrites()
	// Deliver the signal to the listener directly: tests never signal the
	// test runner itself.
	s.sigCh <- syscall.SIGUSR2
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Stop(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second, "Stop waited for the Reopen")
	resume()
	select {
	case <-s.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("never closed")
	}
	assert.Len(t, readLines(t, dir), 1)
}
