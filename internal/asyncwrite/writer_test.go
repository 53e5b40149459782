package asyncwrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/internal/errlimit"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func closeOK(t *testing.T, aw *Writer) {
	t.Helper()
	require.NoError(t, aw.Close(context.Background()))
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 256, 0) // small, so buffers change hands often
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				assert.NoError(t, aw.Write(context.Background(), fmt.Appendf(nil, "g%d-%d", g, i)))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, aw.Flush(context.Background()))
	lines := dest.Lines()
	require.Len(t, lines, 8*500)
	seen := map[string]bool{}
	last := map[string]int{}
	for _, l := range lines {
		require.False(t, seen[string(l)], "duplicate line %s", l)
		seen[string(l)] = true
		var g, i int
		_, err := fmt.Sscanf(string(l), "g%d-%d", &g, &i)
		require.NoError(t, err)
		if prev, ok := last[fmt.Sprint(g)]; ok {
			require.Greater(t, i, prev, "lines of one writer reordered")
		}
		last[fmt.Sprint(g)] = i
	}
	closeOK(t, aw)
}

func TestFlushDeadlineKeepsData(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 1<<10, 0)
	for i := range 100 {
		require.NoError(t, aw.Write(context.Background(), fmt.Appendf(nil, "line %d", i)))
	}
	resume := dest.Stall()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := aw.Flush(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
	// A second flush on a writer that is still stuck also returns on time.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	assert.ErrorIs(t, aw.Flush(ctx2), context.DeadlineExceeded)
	resume()
	require.NoError(t, aw.Flush(context.Background()))
	assert.Len(t, dest.Lines(), 100)
	closeOK(t, aw)
}

func TestWriteWaitsAtThePendingBound(t *testing.T) {
	for _, c := range []struct{ maxPending, accepted int }{
		{0, 2},  // the minimum, twice the buffer size: two 16-byte lines
		{64, 4}, // four 16-byte lines
	} {
		dest := testdest.New()
		aw := New("test", dest, 16, c.maxPending)
		aw.SetMaxDelay(time.Hour) // no idle hand-off may take a chunk mid-test
		resume := dest.Stall()
		// Each line fills a chunk; the next hands it on.
		for i := range c.accepted {
			require.NoError(t, aw.Write(context.Background(), []byte("0123456789abcde")), "line %d", i)
		}
		<-dest.Entered
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		err := aw.Write(ctx, []byte("no room"))
		cancel()
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		resume()
		err = aw.Flush(context.Background())
		assert.ErrorIs(t, err, context.DeadlineExceeded, "the next flush reports the refused entry")
		assert.Contains(t, err.Error(), "1 entries lost")
		require.NoError(t, aw.Flush(context.Background()), "and only that flush")
		assert.Len(t, dest.Lines(), c.accepted, "the refused entry was not written")
		closeOK(t, aw)
	}
}

func TestWriteErrorsReachFlushAndHealth(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 1<<10, 0)
	handled := make(chan error, 10)
	aw.SetErrorHandler(func(err error) { handled <- err })
	heal := dest.Fail()
	require.NoError(t, aw.Write(context.Background(), []byte("lost")))
	err := aw.Flush(context.Background())
	assert.ErrorIs(t, err, testdest.ErrInjected)
	assert.ErrorContains(t, err, "1 entries lost")
	assert.ErrorIs(t, <-handled, testdest.ErrInjected, "the error handler heard of the failure")
	assert.EqualValues(t, 1, aw.Lost())
	assert.ErrorIs(t, aw.HealthCheck(), testdest.ErrInjected)
	heal()
	require.NoError(t, aw.Write(context.Background(), []byte("kept")))
	require.NoError(t, aw.Flush(context.Background()), "an error is reported once")
	assert.NoError(t, aw.HealthCheck())
	assert.Equal(t, "kept\n", string(dest.Bytes()))
	closeOK(t, aw)
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestShortWriteIsAnError(t *testing.T) {
	aw := New("test", shortWriter{}, 64, 0)
	require.NoError(t, aw.Write(context.Background(), []byte("abcdef")))
	assert.ErrorIs(t, aw.Flush(context.Background()), io.ErrShortWrite)
	closeOK(t, aw)
}

// syncWriter stands for targets with their own Sync, such as a zapcore
// WriteSyncer or a file wrapper.
type syncWriter struct {
	io.Writer
	err   error
	syncs int
}

func (w *syncWriter) Sync() error { w.syncs++; return w.err }

func TestSync(t *testing.T) {
	cases := []struct {
		err     error
		wantErr bool
	}{
		{nil, false},
		{syscall.EINVAL, false}, // pipes and terminals: nothing to sync
		{&os.PathError{Op: "sync", Path: "/dev/stdout", Err: syscall.ENOTTY}, false},
		{syscall.EIO, true},
	}
	for _, c := range cases {
		w := &syncWriter{Writer: io.Discard, err: c.err}
		aw := New("test", w, 64, 0)
		require.NoError(t, aw.Write(context.Background(), []byte("x")))
		err := aw.Flush(context.Background())
		if c.wantErr {
			assert.ErrorIs(t, err, c.err)
		} else {
			assert.NoError(t, err, "sync error %v", c.err)
		}
		assert.Equal(t, 1, w.syncs)
		require.NoError(t, aw.Write(context.Background(), []byte("y")))
		if c.wantErr {
			assert.ErrorIs(t, aw.Close(context.Background()), c.err, "Close reports the failed sync of its final flush")
			continue
		}
		closeOK(t, aw)
	}
}

func TestFlushToPipeAndDevice(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	got := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		got <- string(b)
	}()
	aw := New("test", w, 64, 0)
	require.NoError(t, aw.Write(context.Background(), []byte("through a pipe")))
	require.NoError(t, aw.Flush(context.Background()), "flush on a pipe must succeed (zap #880)")
	closeOK(t, aw)
	require.NoError(t, w.Close())
	assert.Equal(t, "through a pipe\n", <-got)
	require.NoError(t, r.Close())

	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer null.Close()
	aw = New("test", null, 64, 0)
	require.NoError(t, aw.Write(context.Background(), []byte("x")))
	require.NoError(t, aw.Flush(context.Background()), "flush on a character device must succeed")
	closeOK(t, aw)
}

func TestFlushToRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	aw := New("test", f, 64, 0)
	require.NoError(t, aw.Write(context.Background(), []byte(`{"a":1}`)))
	require.NoError(t, aw.Flush(context.Background()))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "{\"a\":1}\n", string(b), "Flush returned before the data reached the file")
	closeOK(t, aw)
}

func TestCloseFlushesAndIsIdempotent(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 1<<10, 0)
	require.NoError(t, aw.Write(context.Background(), []byte("last words")))
	closeOK(t, aw)
	closeOK(t, aw)
	assert.Equal(t, "last words\n", string(dest.Bytes()))
	assert.ErrorIs(t, aw.Write(context.Background(), []byte("late")), ErrClosed)
	assert.NoError(t, aw.Flush(context.Background()))

	unused := New("test", dest, 64, 0)
	closeOK(t, unused)
}

func TestCloseHonoursContextWhenStuck(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 64, 0)
	require.NoError(t, aw.Write(context.Background(), []byte("x")))
	resume := dest.Stall()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := aw.Close(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	resume()
	// The goroutine ends once the writer returns: goleak in TestMain
	// checks that, after this Flush confirms the writer is free.
	require.Eventually(t, func() bool { return strings.Contains(string(dest.Bytes()), "x") }, 5*time.Second, time.Millisecond)
	select {
	case <-aw.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("goroutine still running after the writer unblocked")
	}
}

func TestHugeEntryWrittenWhole(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 16, 0)
	big := strings.Repeat("z", 1000)
	require.NoError(t, aw.Write(context.Background(), []byte("small")))
	require.NoError(t, aw.Write(context.Background(), []byte(big)))
	require.NoError(t, aw.Write(context.Background(), []byte("after")))
	require.NoError(t, aw.Flush(context.Background()))
	assert.Equal(t, "small\n"+big+"\nafter\n", string(dest.Bytes()))
	closeOK(t, aw)
}

func TestErrorsWrapped(t *testing.T) {
	aw := New("test", io.Discard, 64, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := aw.Flush(ctx)
	assert.True(t, errors.Is(err, context.Canceled))
	closeOK(t, aw)
}

// A quiet service still sees its lines: a partly filled chunk goes out
// after the maximum delay without any Flush.
func TestLinesGoOutWithoutFlush(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 64<<10, 0)
	aw.SetMaxDelay(10 * time.Millisecond)
	require.NoError(t, aw.Write(context.Background(), []byte("quiet")))
	require.Eventually(t, func() bool { return string(dest.Bytes()) == "quiet\n" }, 5*time.Second, time.Millisecond)
	closeOK(t, aw)
}

// A flush is a marker: any number of timed-out flushes against a stalled
// writer take no memory, so the bound is still there for entries.
func TestTimedOutFlushesCostNoRoom(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 1<<10, 4<<10)
	aw.SetMaxDelay(time.Hour)
	resume := dest.Stall()
	require.NoError(t, aw.Write(context.Background(), []byte("first")))
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		assert.ErrorIs(t, aw.Flush(ctx), context.DeadlineExceeded)
		cancel()
		// One short line after each flush, as a quiet service would.
		ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
		require.NoError(t, aw.Write(ctx, []byte("x")), "a 2-byte line refused after timed-out flushes")
		cancel()
	}
	resume()
	require.NoError(t, aw.Flush(context.Background()))
	assert.Len(t, dest.Lines(), 201)
	closeOK(t, aw)
}

// A Write that must wait for room never waits longer than its context,
// whatever else is queued.
func TestWriteAtBoundHonoursItsDeadline(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 16, 32)
	resume := dest.Stall()
	defer resume()
	line := []byte("0123456789abcde")
	require.NoError(t, aw.Write(context.Background(), line))
	require.NoError(t, aw.Write(context.Background(), line))
	<-dest.Entered
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		assert.Error(t, aw.Flush(ctx))
		cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- aw.Write(ctx, line) }()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("Write at the bound ignored its context")
	}
	resume()
	assert.ErrorIs(t, aw.Flush(context.Background()), context.DeadlineExceeded, "the refused entry is reported")
	closeOK(t, aw)
}

// Close on an ended context (the SDK does this when its last export ran out
// of time) still ends the goroutine and writes everything it accepted, in
// the background; Done says when the underlying writer is free.
func TestCloseEndedContextFinishesInBackground(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 1<<10, 0)
	resume := dest.Stall()
	for i := range 50 {
		require.NoError(t, aw.Write(context.Background(), fmt.Appendf(nil, "line %d", i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := aw.Close(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "still being written in the background")
	assert.ErrorIs(t, aw.Write(context.Background(), []byte("late")), ErrClosed)
	resume()
	select {
	case <-aw.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("goroutine did not end after the writer resumed")
	}
	assert.Len(t, dest.Lines(), 50, "everything accepted before Close was written")
	assert.Equal(t, err, aw.Close(context.Background()), "a later Close returns the first one's result")
}

func TestConcurrentClose(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 64, 0)
	require.NoError(t, aw.Write(context.Background(), []byte("x")))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, aw.Close(context.Background()))
		}()
	}
	wg.Wait()
	assert.Equal(t, "x\n", string(dest.Bytes()))
}

// WriteBatch takes entries in order; at the bound it stops, and the rest
// are refused and counted against the next flush.
func TestWriteBatch(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 16, 64)
	aw.SetMaxDelay(time.Hour)
	failed, err := aw.WriteBatch(context.Background(), [][]byte{[]byte("a"), []byte("b")})
	require.NoError(t, err)
	assert.Zero(t, failed)
	require.NoError(t, aw.Flush(context.Background()))
	assert.Equal(t, []string{"a", "b"}, linesOf(dest))

	resume := dest.Stall()
	line := []byte("0123456789abcde")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	failed, err = aw.WriteBatch(ctx, [][]byte{line, line, line, line, line, line})
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 2, failed, "four 16-byte lines fit in 64 bytes")
	resume()
	err = aw.Flush(context.Background())
	assert.Contains(t, err.Error(), "2 entries lost")
	assert.Len(t, dest.Lines(), 6)
	closeOK(t, aw)
	failed, err = aw.WriteBatch(context.Background(), [][]byte{line})
	assert.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, 1, failed)
}

func linesOf(d *testdest.Writer) []string {
	var out []string
	for _, l := range d.Lines() {
		out = append(out, string(l))
	}
	return out
}

// WriteBatch returns once its lines are with the writer, without a flush
// and whatever the hand-off delay: what the line sinks' Export promises.
func TestWriteBatchWritesThrough(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 64<<10, 0)
	aw.SetMaxDelay(time.Hour)
	for i := range 5 {
		_, err := aw.WriteBatch(context.Background(), [][]byte{[]byte("x")})
		require.NoError(t, err)
		assert.Len(t, dest.Lines(), i+1, "line %d is with the writer when WriteBatch returns", i)
	}
	closeOK(t, aw)
}

// AppendBatch takes entries without waiting for the writer, and has the
// goroutine write them at once, before any buffer is full; a WriteBatch
// after it waits for every entry appended before it. At the bound it
// refuses as WriteBatch does.
func TestAppendBatch(t *testing.T) {
	dest := testdest.New()
	aw := New("test", dest, 64<<10, 0)
	aw.SetMaxDelay(time.Hour)
	resume := dest.Stall()
	failed, err := aw.AppendBatch(context.Background(), [][]byte{[]byte("a"), []byte("b")})
	require.NoError(t, err)
	assert.Zero(t, failed)
	assert.Empty(t, dest.Lines(), "the writer is stalled and AppendBatch did not wait")
	resume()
	require.Eventually(t, func() bool { return len(dest.Lines()) == 2 }, 5*time.Second, time.Millisecond,
		"written without a flush, a full buffer or the maximum delay")

	resume = dest.Stall()
	_, err = aw.AppendBatch(context.Background(), [][]byte{[]byte("c")})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := aw.WriteBatch(context.Background(), [][]byte{[]byte("d")})
		done <- err
	}()
	select {
	case <-done:
		t.Fatal("WriteBatch returned while the writer was stalled")
	case <-time.After(20 * time.Millisecond):
	}
	resume()
	require.NoError(t, <-done)
	assert.Equal(t, []string{"a", "b", "c", "d"}, linesOf(dest), "written when WriteBatch returns")
	closeOK(t, aw)

	smallDest := testdest.New()
	small := New("test", smallDest, 16, 32)
	line := []byte("0123456789abcde")
	resume = smallDest.Stall()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	failed, err = small.AppendBatch(ended, [][]byte{line, line, line})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, failed, "two 16-byte lines fit in 32 bytes")
	resume()
	assert.ErrorContains(t, small.Flush(context.Background()), "1 entries lost")
	closeOK(t, small)
	failed, err = small.AppendBatch(context.Background(), [][]byte{line, line})
	assert.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, 2, failed)
}

// panicWriter panics on the Write (or Sync) numbered panicAt, counting from
// 1, and records the calls it got.
type panicWriter struct {
	mu            sync.Mutex
	writes, syncs int
	panicAt       int
	panicSync     bool
	got           bytes.Buffer
}

func (w *panicWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.writes == w.panicAt {
		panic("destination bug")
	}
	return w.got.Write(p)
}

func (w *panicWriter) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncs++
	if w.panicSync {
		panic("sync bug")
	}
	return nil
}

func (w *panicWriter) calls() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, w.syncs
}

// A destination that panics (stdoutjson.WithWriter takes any io.Writer)
// does not end the program from this package's goroutine: the panic is
// contained like a panicking sink's, its lines are counted lost, every
// later line fails without calling it again, and Close still ends.
func TestPanickingDestinationIsContained(t *testing.T) {
	for _, c := range []struct {
		name string
		w    *panicWriter
		lost int64
	}{
		{"write", &panicWriter{panicAt: 2}, 2},
		{"sync", &panicWriter{panicSync: true}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			aw := New("test", c.w, 1<<10, 0)
			handled := make(chan error, 10)
			aw.SetErrorHandler(func(err error) { handled <- err })
			require.NoError(t, aw.Write(context.Background(), []byte("one")))
			if c.name == "write" {
				require.NoError(t, aw.Flush(context.Background()))
				require.NoError(t, aw.Write(context.Background(), []byte("two"))) // its Write panics
			}
			err := aw.Flush(context.Background())
			require.ErrorIs(t, err, ErrWriterPanicked)
			assert.ErrorContains(t, err, "bug")
			assert.ErrorIs(t, <-handled, ErrWriterPanicked)

			writes, syncs := c.w.calls()
			require.NoError(t, aw.Write(context.Background(), []byte("three")))
			assert.ErrorIs(t, aw.Flush(context.Background()), ErrWriterPanicked, "still broken")
			w2, s2 := c.w.calls()
			assert.Equal(t, writes, w2, "not written to again")
			assert.Equal(t, syncs, s2, "not synced again")
			assert.Equal(t, c.lost, aw.Lost(), "the lines it did not take, counted")
			assert.ErrorIs(t, aw.HealthCheck(), ErrWriterPanicked)
			require.NoError(t, aw.Write(context.Background(), []byte("four")))
			assert.ErrorIs(t, aw.Close(context.Background()), ErrWriterPanicked, "Close ends, and reports its line lost")
			assert.Equal(t, c.lost+1, aw.Lost())
		})
	}
}

// A destination that fails every write (a full disk) must not flood the
// error handler: the first failure is passed on at once, the rest are held
// and counted until the interval passes or the Writer closes, while the
// next Flush still has every one of them.
func TestFailuresReachHandlerCoalesced(t *testing.T) {
	prev := reportEvery
	reportEvery = time.Hour
	defer func() { reportEvery = prev }()

	dest := testdest.New()
	aw := New("test", dest, 1<<10, 0)
	var mu sync.Mutex
	var handled []error
	aw.SetErrorHandler(func(err error) { mu.Lock(); handled = append(handled, err); mu.Unlock() })
	heal := dest.Fail()
	for range 100 {
		_, _ = aw.WriteBatch(context.Background(), [][]byte{[]byte("lost")})
	}
	heal()
	_, err := aw.WriteBatch(context.Background(), [][]byte{[]byte("kept")})
	require.NoError(t, err)
	mu.Lock()
	require.Len(t, handled, 1, "one report for 100 failed writes within the interval")
	assert.ErrorIs(t, handled[0], testdest.ErrInjected)
	mu.Unlock()

	err = aw.Flush(context.Background())
	assert.ErrorContains(t, err, "100 entries lost", "the flush is not limited")

	closeOK(t, aw)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, handled, 2, "what was held is reported at Close")
	assert.ErrorIs(t, handled[1], errlimit.ErrHeld)
	assert.ErrorIs(t, handled[1], testdest.ErrInjected)
	assert.Contains(t, handled[1].Error(), "99 failures")
}
