//go:build unix

package rotatingfile

import (
	"context"
	"os"
	"path/filepath"
	"sync"
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

// A FIFO planted where a rotated file was, before the janitor syncs it,
// hangs neither the sync (which opens the path again) nor a Flush waiting
// for it. The fsync fails (a FIFO cannot be synced) and is reported, but
// fails no Flush: there is nothing of ours left to push there.
func TestFIFOAtRotatedPath(t *testing.T) {
	var mu sync.Mutex
	var reported []error
	s, ffs, _ := testSink(t, func(c *config) {
		c.handle = func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, err)
		}
	}, WithMaxSize(60))
	ffs.set(func(f *faultFS) {
		f.beforeRotatedSync = func(name string) {
			_ = os.Remove(name)
			_ = syscall.Mkfifo(name, 0o600)
		}
	})
	write(t, s, entry(1), entry(2)) // the second rotates the first file
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Flush(ctx), "a deadline error means the sync hung on the FIFO")
	mu.Lock()
	assert.NotEmpty(t, reported, "the failed sync is reported")
	mu.Unlock()
	stop(t, s)
}

// The same FIFO does not hang compression either: the janitor reads it to
// its end (nothing, with no writer) instead of waiting for a writer, and
// Stop, which waits for the janitor, returns.
func TestFIFOAtRotatedPathCompressed(t *testing.T) {
	s, ffs, _ := testSink(t, func(c *config) { c.handle = func(error) {} },
		WithMaxSize(60), WithCompression(CompressionGzip))
	ffs.set(func(f *faultFS) {
		f.beforeRotatedSync = func(name string) {
			_ = os.Remove(name)
			_ = syscall.Mkfifo(name, 0o600)
		}
	})
	write(t, s, entry(1), entry(2)) // the second rotates the first file
	done := make(chan error, 1)
	go func() { done <- s.Stop(context.Background()) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop hung: the janitor is blocked opening the FIFO")
	}
}
