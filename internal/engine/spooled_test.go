package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/internal/spool"
)

func spoolEngine(t *testing.T, dir string, cfg Config, s Sender) *Engine {
	t.Helper()
	cfg.Spool = &spool.Config{Dir: dir}
	if cfg.InitialBackoff == 0 {
		cfg.InitialBackoff, cfg.MaxBackoff = time.Millisecond, 2*time.Millisecond
	}
	if cfg.Evaluate == nil {
		cfg.Evaluate = evaluate
	}
	e, err := New(cfg, s, nil)
	require.NoError(t, err)
	return e
}

func TestSpoolDeliversAndEmpties(t *testing.T) {
	dir := t.TempDir()
	f := &fakeSender{}
	e := spoolEngine(t, dir, Config{MaxBatchEntries: 4}, f)
	failed, err := e.AddBatch(context.Background(), [][]byte{[]byte("0"), []byte("1"), []byte("2"), []byte("3"), []byte("4")})
	require.NoError(t, err)
	assert.Zero(t, failed)
	require.NoError(t, e.Flush(context.Background()))
	assert.Equal(t, seq(0, 5), f.delivered())
	st, _, ok := e.SpoolStats()
	require.True(t, ok)
	assert.Equal(t, 1, st.Segments)
	require.NoError(t, e.Close(context.Background()))

	e = spoolEngine(t, dir, Config{}, f)
	assert.Empty(t, e.queue, "nothing is left for the next process")
	require.NoError(t, e.Close(context.Background()))
}

// What Close could not deliver stays in the spool, is not counted as
// lost, and the next engine sends it first, with the same keys.
func TestSpoolKeepsWhatCloseLeftAndTheNextEngineSendsIt(t *testing.T) {
	dir := t.TempDir()
	down := &fakeSender{fn: func(int) error { return errors.New("receiver down") }}
	e := spoolEngine(t, dir, Config{MaxBatchEntries: 2, RetryBudget: time.Hour}, down)
	_, err := e.AddBatch(context.Background(), [][]byte{[]byte("0"), []byte("1"), []byte("2"), []byte("3"), []byte("4")})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.Error(t, e.Close(ctx))
	assert.Zero(t, e.Lost(), "kept in the spool, not lost")
	down.mu.Lock()
	firstKeys := map[string]bool{}
	for _, k := range down.keys {
		firstKeys[k] = true
	}
	down.mu.Unlock()

	up := &fakeSender{}
	e = spoolEngine(t, dir, Config{}, up)
	require.NoError(t, e.Add(context.Background(), []byte("5")))
	require.NoError(t, e.Flush(context.Background()))
	assert.Equal(t, seq(0, 6), up.delivered(), "the earlier process's entries first, then the new one")
	up.mu.Lock()
	require.NotEmpty(t, firstKeys)
	for k := range firstKeys {
		assert.Contains(t, up.keys, k, "a batch attempted before keeps its key")
	}
	up.mu.Unlock()
	require.NoError(t, e.Close(context.Background()))
}

// The disk bound holds: with the receiver stalled, entries beyond it are
// refused (the default policy) and counted; the spool never grows past it.
func TestSpoolBound(t *testing.T) {
	dir := t.TempDir()
	f := &fakeSender{gate: make(chan struct{})}
	const bound = 4096
	e := spoolEngine(t, dir, Config{MaxPendingBytes: bound, MaxBatchEntries: 8, MaxBatchBytes: 512}, f)
	e.cfg.Spool.MaxBytes = bound
	entry := make([]byte, 100)
	var refused int
	for range 100 {
		if err := e.Add(context.Background(), entry); err != nil {
			require.ErrorIs(t, err, ErrDropped)
			refused++
		}
		st, _, _ := e.SpoolStats()
		require.LessOrEqual(t, st.Bytes, int64(bound))
	}
	assert.Greater(t, refused, 50)
	assert.EqualValues(t, refused, e.Lost())
	close(f.gate)
	assert.ErrorIs(t, e.Flush(context.Background()), ErrDropped)
	require.NoError(t, e.Close(context.Background()))
}

// Entries found corrupt in the spool are skipped, counted as lost and
// reported by the next flush; the others are delivered.
func TestSpoolCorruptEntriesAreCounted(t *testing.T) {
	dir := t.TempDir()
	seg := leaveInSpool(t, dir, `{"n":0}`, `{"n":1}`, `{"n":2}`)
	data, err := os.ReadFile(seg)
	require.NoError(t, err)
	data[20] ^= 0xff // the second entry's length
	require.NoError(t, os.WriteFile(seg, data, 0o600))

	up := &fakeSender{}
	e := spoolEngine(t, dir, Config{}, up)
	err = e.Flush(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "corrupt")
	assert.Equal(t, []string{`{"n":0}`, `{"n":2}`}, up.delivered())
	assert.EqualValues(t, 1, e.Lost())
	require.NoError(t, e.Close(context.Background()))
}

func TestSpoolDirInUse(t *testing.T) {
	dir := t.TempDir()
	e := spoolEngine(t, dir, Config{}, &fakeSender{})
	_, err := New(Config{Spool: &spool.Config{Dir: dir}}, &fakeSender{}, nil)
	require.ErrorIs(t, err, spool.ErrOpenHere)
	require.NoError(t, e.Close(context.Background()))
}

// DropOldest at the disk bound discards the oldest queued batch, counted;
// Block waits for room and takes the entry once a delivery frees it.
func TestSpoolOverflowPolicies(t *testing.T) {
	const bound = 4096
	entry := make([]byte, 100)
	// On disk, dropping queued batches frees room only as far as the
	// cursor can move: a batch stuck in flight holds it, and then new
	// entries are refused too. Either way the disk stays bounded and
	// every entry is delivered or counted.
	t.Run("drop oldest", func(t *testing.T) {
		f := &fakeSender{gate: make(chan struct{})}
		e := spoolEngine(t, t.TempDir(), Config{MaxPendingBytes: bound, MaxBatchEntries: 4, Overflow: DropOldest}, f)
		for range 100 {
			_ = e.Add(context.Background(), entry)
			st, _, _ := e.SpoolStats()
			require.LessOrEqual(t, st.Bytes, int64(bound))
		}
		assert.Positive(t, e.Lost(), "older batches were dropped, and counted")
		close(f.gate)
		assert.ErrorIs(t, e.Flush(context.Background()), ErrDropped)
		assert.EqualValues(t, 100, int64(len(f.delivered()))+e.Lost(), "delivered + counted = added")
		require.NoError(t, e.Close(context.Background()))
	})
	t.Run("block", func(t *testing.T) {
		f := &fakeSender{gate: make(chan struct{})}
		e := spoolEngine(t, t.TempDir(), Config{MaxPendingBytes: bound, MaxBatchEntries: 4, MaxBatchAge: time.Millisecond, Overflow: Block, BlockTimeout: time.Minute}, f)
		added := make(chan int)
		go func() {
			n := 0
			for range 60 {
				if e.Add(context.Background(), entry) == nil {
					n++
				}
			}
			added <- n
		}()
		require.Eventually(t, func() bool { st, _, _ := e.SpoolStats(); return st.Bytes > bound/2 }, 10*time.Second, time.Millisecond)
		close(f.gate) // deliveries free the disk; the blocked Add goes on
		assert.Equal(t, 60, <-added, "every entry was taken, after waiting")
		require.NoError(t, e.Flush(context.Background()))
		assert.Zero(t, e.Lost())
		assert.Len(t, f.delivered(), 60)
		require.NoError(t, e.Close(context.Background()))
	})
	t.Run("block, receiver stalled", func(t *testing.T) {
		f := &fakeSender{gate: make(chan struct{})}
		e := spoolEngine(t, t.TempDir(), Config{MaxPendingBytes: bound, MaxBatchEntries: 4, Overflow: Block, BlockTimeout: 20 * time.Millisecond}, f)
		var errs []error
		for len(errs) < 3 {
			if err := e.Add(context.Background(), entry); err != nil {
				require.ErrorIs(t, err, ErrDropped)
				errs = append(errs, err)
			}
		}
		assert.NotErrorIs(t, errs[0], ErrStalled)
		assert.NotErrorIs(t, errs[1], ErrStalled)
		assert.ErrorIs(t, errs[2], ErrStalled, "two timeouts with nothing delivered: no third wait")
		close(f.gate)
		require.ErrorIs(t, e.Close(context.Background()), ErrDropped)
		assert.EqualValues(t, 3, e.Lost())
	})
}

// A flush that ends with entries undelivered fsyncs the spool (in the
// background, so it still returns on time); one that sees everything
// delivered needs none.
func TestSpoolSyncOnFlush(t *testing.T) {
	dirty := func(e *Engine) bool {
		e.syncWG.Wait()
		return e.spool.Dirty()
	}
	f := &fakeSender{gate: make(chan struct{})}
	e := spoolEngine(t, t.TempDir(), Config{}, f)
	require.NoError(t, e.Add(context.Background(), []byte("x")))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, e.Flush(ctx), context.DeadlineExceeded)
	assert.False(t, dirty(e), "the undelivered entry was fsync'd")
	close(f.gate)
	require.NoError(t, e.Add(context.Background(), []byte("y")))
	require.NoError(t, e.Flush(context.Background()))
	assert.True(t, dirty(e), "a flush that saw everything delivered did not fsync")
	require.NoError(t, e.Close(context.Background()))
}

// stalledDisk plays a disk that stops answering at one kind of spool write
// ("append", "seal" or "cursor"): the write blocks, holding the spool's
// and the engine's locks, until resumed.
type stalledDisk struct {
	step    string
	armed   chan struct{} // closed to arm the stall
	entered chan struct{} // closed when a write has stalled
	release chan struct{}
	once    bool
}

func newStalledDisk(step string) *stalledDisk {
	return &stalledDisk{step: step, armed: make(chan struct{}), entered: make(chan struct{}), release: make(chan struct{})}
}

func (d *stalledDisk) hook(step string) {
	select {
	case <-d.armed:
	default:
		return
	}
	if step != d.step || d.once { // called under the spool's lock: no race on once
		return
	}
	d.once = true
	close(d.entered)
	<-d.release
}

// With a disk that stops answering in the middle of a spool write (which
// holds the engine's lock), Flush still returns on its deadline, an Add
// gives up on its context and counts its entries as dropped, SpoolStats
// answers, and Close on an ended context returns promptly; everything
// finishes once the disk answers again (goleak checks the goroutines).
func TestStalledSpoolDiskDoesNotHoldCallersPastTheirDeadline(t *testing.T) {
	for _, step := range []string{"append", "seal", "cursor"} {
		t.Run(step, func(t *testing.T) {
			disk := newStalledDisk(step)
			f := &fakeSender{}
			cfg := Config{MaxBatchEntries: 2, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Evaluate: evaluate}
			cfg.Spool = &spool.Config{Dir: t.TempDir(), BeforeWrite: disk.hook}
			var stallReports atomic.Int32
			e, err := New(cfg, f, func(err error) {
				if strings.Contains(err.Error(), "waiting for the spool") {
					stallReports.Add(1)
				}
			})
			require.NoError(t, err)
			close(disk.armed)
			// The write that stalls: an append on this goroutine, or
			// the seal and the acknowledgement on the engine's own.
			added := make(chan struct{})
			go func() {
				defer close(added)
				_, _ = e.AddBatch(context.Background(), [][]byte{[]byte("0"), []byte("1"), []byte("2")})
			}()
			<-disk.entered

			const deadline = 50 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			start := time.Now()
			err = e.Flush(ctx)
			took := time.Since(start)
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, took, deadline+time.Second, "Flush overran its deadline")

			for range 3 {
				ctx, cancel = context.WithTimeout(context.Background(), deadline)
				failed, err := e.AddBatch(ctx, [][]byte{[]byte("late")})
				cancel()
				require.ErrorIs(t, err, ErrDropped)
				assert.Equal(t, 1, failed)
			}
			assert.Equal(t, int32(1), stallReports.Load(), "refusals within a second are reported once")

			_, _, ok := e.SpoolStats()
			assert.True(t, ok)

			ended, cancel := context.WithCancel(context.Background())
			cancel()
			start = time.Now()
			require.Error(t, e.Close(ended))
			assert.Less(t, time.Since(start), closeGrace+time.Second, "Close on an ended context overran")
			// Still closing: an exporter rebuilt here on the directory
			// is told to wait, not that it made a mistake.
			if sp, _, err := spool.Open(spool.Config{Dir: cfg.Spool.Dir}); err == nil {
				_ = sp.Close()
				t.Fatal("the directory opened while its spool was still closing")
			} else {
				require.ErrorIs(t, err, spool.ErrInUse)
			}

			close(disk.release)
			// A later Close returns the first one's result; the rest of
			// closing finishes in the background once the disk answers.
			err = e.Close(context.Background())
			if err != nil {
				assert.NotContains(t, err.Error(), "waiting for a concurrent call")
			}
			for _, ch := range []<-chan struct{}{added, e.Finished()} {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					t.Fatal("closing never finished after the disk answered")
				}
			}
			assert.GreaterOrEqual(t, e.Lost(), int64(3), "every refused entry is counted")
		})
	}
}

// A spool segment that cannot be read at start (a bad sector) does not
// keep the engine from starting: the other entries are delivered, the new
// ones too, and the first flush fails with the damage, since an unknown
// number of entries is lost with it.
func TestSpoolUnreadableSegmentFailsFirstFlushOnly(t *testing.T) {
	dir := t.TempDir()
	leaveInSpool(t, dir, `{"n":0}`)
	prev := spool.ReadSegment
	spool.ReadSegment = func(string) ([]byte, error) { return nil, syscall.EIO }
	defer func() { spool.ReadSegment = prev }()

	up := &fakeSender{}
	e := spoolEngine(t, dir, Config{}, up)
	require.NoError(t, e.Add(context.Background(), []byte(`{"n":1}`)))
	err := e.Flush(context.Background())
	require.ErrorIs(t, err, syscall.EIO)
	assert.ErrorContains(t, err, "set aside")
	assert.Equal(t, []string{`{"n":1}`}, up.delivered())
	require.NoError(t, e.Add(context.Background(), []byte(`{"n":2}`)))
	require.NoError(t, e.Flush(context.Background()), "reported once")
	require.NoError(t, e.Close(context.Background()))
}

// leaveInSpool has an engine whose receiver is down take entries as one
// batch and close at once, so that they stay in dir's spool for the next
// engine; it returns the one segment's path.
func leaveInSpool(t *testing.T, dir string, entries ...string) string {
	t.Helper()
	down := &fakeSender{fn: func(int) error { return errors.New("down") }}
	e := spoolEngine(t, dir, Config{MaxBatchEntries: 100, RetryBudget: time.Hour}, down)
	batch := make([][]byte, len(entries))
	for i, s := range entries {
		batch[i] = []byte(s)
	}
	_, err := e.AddBatch(context.Background(), batch)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = e.Close(ctx)
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.Len(t, segs, 1)
	return segs[0]
}

// A batch split because it was too large, interrupted by Close, stays in
// the spool whole; the next process splits it the same way and sends the
// parts under the same keys, so a receiver that deduplicates by key stores
// each entry once.
func TestSplitBatchResentUnderTheSameKeys(t *testing.T) {
	dir := t.TempDir()
	tooLarge := func(err error) bool { return errors.Is(err, errTooLarge) }
	first := &fakeSender{refuse: func(key string, entries [][]byte) error {
		if len(entries) > 2 {
			return errTooLarge
		}
		if strings.HasSuffix(key, ".2") {
			return errors.New("receiver down") // retried until Close
		}
		return nil
	}}
	e := spoolEngine(t, dir, Config{MaxBatchEntries: 100, RetryBudget: time.Hour, TooLarge: tooLarge}, first)
	_, err := e.AddBatch(context.Background(), [][]byte{[]byte("0"), []byte("1"), []byte("2"), []byte("3")})
	require.NoError(t, err)
	require.Eventually(t, func() bool { first.mu.Lock(); defer first.mu.Unlock(); return len(first.keys) >= 4 },
		5*time.Second, time.Millisecond, "whole, .1, .2 and a retry of .2")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.Error(t, e.Close(ctx))
	assert.Zero(t, e.Lost(), "kept in the spool, not lost")

	second := &fakeSender{refuse: func(_ string, entries [][]byte) error {
		if len(entries) > 2 {
			return errTooLarge
		}
		return nil
	}}
	e = spoolEngine(t, dir, Config{TooLarge: tooLarge}, second)
	require.NoError(t, e.Flush(context.Background()))
	require.NoError(t, e.Close(context.Background()))
	assert.Equal(t, []string{"0", "1", "2", "3"}, second.delivered(), "each part once; .1 again, which a receiver deduplicating by key drops")
	first.mu.Lock()
	second.mu.Lock()
	defer first.mu.Unlock()
	defer second.mu.Unlock()
	assert.Equal(t, first.keys[:3], second.keys, "the same parts under the same keys")
}
