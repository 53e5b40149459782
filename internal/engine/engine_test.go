package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/internal/errlimit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSender records batches and answers with what fn says.
type fakeSender struct {
	mu      sync.Mutex
	batches [][]string
	keys    []string // of each attempt
	fn      func(n int) error
	gate    chan struct{} // when set, Send waits on it (or ctx)
	entered chan struct{} // when set, Send signals it on entry
	// refuse, when set, answers each attempt before fn: a non-nil error
	// fails it.
	refuse func(key string, entries [][]byte) error
}

func (f *fakeSender) Send(ctx context.Context, key string, entries [][]byte) error {
	f.mu.Lock()
	gate, fn, n, entered, refuse := f.gate, f.fn, len(f.batches), f.entered, f.refuse
	f.keys = append(f.keys, key)
	f.mu.Unlock()
	if refuse != nil {
		if err := refuse(key, entries); err != nil {
			return err
		}
	}
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fn != nil {
		if err := fn(n); err != nil {
			f.mu.Lock()
			f.batches = append(f.batches, nil)
			f.mu.Unlock()
			return err
		}
	}
	b := make([]string, len(entries))
	for i, e := range entries {
		b[i] = string(e)
	}
	f.mu.Lock()
	f.batches = append(f.batches, b)
	f.mu.Unlock()
	return nil
}

func (f *fakeSender) delivered() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.batches {
		out = append(out, b...)
	}
	return out
}

// finalErr is a failure the test's Evaluate refuses to retry, as an HTTP
// 4xx would be.
type finalErr struct{ code int }

func (e *finalErr) Error() string { return fmt.Sprintf("answered %d", e.code) }

// evaluate retries everything but a finalErr.
func evaluate(err error) (bool, time.Duration) {
	var fe *finalErr
	return !errors.As(err, &fe), 0
}

func newEngine(t *testing.T, cfg Config, s Sender) *Engine {
	t.Helper()
	if cfg.Evaluate == nil {
		cfg.Evaluate = evaluate
	}
	if cfg.InitialBackoff == 0 {
		cfg.InitialBackoff, cfg.MaxBackoff = time.Millisecond, 2*time.Millisecond
	}
	e, err := New(cfg, s, nil)
	require.NoError(t, err)
	return e
}

func addN(t *testing.T, e *Engine, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		require.NoError(t, e.Add(context.Background(), []byte(fmt.Sprint(i))))
	}
}

func seq(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return out
}

func TestBatchesByCountAndBytes(t *testing.T) {
	f := &fakeSender{}
	e := newEngine(t, Config{MaxBatchEntries: 10, MaxBatchBytes: 15, MaxBatchAge: time.Hour}, f)
	addN(t, e, 0, 25)
	require.NoError(t, e.Flush(context.Background()))
	assert.Equal(t, seq(0, 25), f.delivered())
	for _, b := range f.batches {
		n := 0
		for _, s := range b {
			n += len(s)
		}
		assert.LessOrEqual(t, len(b), 10)
		assert.LessOrEqual(t, n, 15)
	}
	require.NoError(t, e.Close(context.Background()))
}

func TestBatchesByAge(t *testing.T) {
	f := &fakeSender{}
	e := newEngine(t, Config{MaxBatchAge: 10 * time.Millisecond}, f)
	addN(t, e, 0, 3)
	require.Eventually(t, func() bool { return len(f.delivered()) == 3 }, 5*time.Second, time.Millisecond,
		"a batch is sent when its first entry is old enough, without a flush")
	require.NoError(t, e.Close(context.Background()))
}

func TestGivesUpAfterBudgetAndReportsCount(t *testing.T) {
	f := &fakeSender{fn: func(int) error { return errors.New("503") }}
	var reported []error
	var mu sync.Mutex
	e, err := New(Config{InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, RetryBudget: 30 * time.Millisecond}, f,
		func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() })
	require.NoError(t, err)
	addN(t, e, 0, 4)
	err = e.Flush(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "4 entries lost")
	assert.Equal(t, 1, strings.Count(err.Error(), "4 entries"), "the count is stated once: %v", err)
	assert.Contains(t, err.Error(), "gave up after")
	assert.EqualValues(t, 4, e.Lost())
	mu.Lock()
	assert.NotEmpty(t, reported, "the failure reached the error handler")
	mu.Unlock()
	require.NoError(t, e.Close(context.Background()))
}

func TestDropOldestKeepsNewest(t *testing.T) {
	f := &fakeSender{gate: make(chan struct{}), entered: make(chan struct{}, 8)}
	e := newEngine(t, Config{MaxBatchEntries: 1, MaxBatchBytes: 1, MaxPendingBytes: 3, Overflow: DropOldest}, f)
	addN(t, e, 0, 1)
	<-f.entered      // "0" is in flight, held at the gate
	addN(t, e, 1, 6) // each new entry pushes out the oldest queued one
	close(f.gate)
	err := e.Flush(context.Background())
	require.ErrorIs(t, err, ErrDropped, "the next flush counts the drops")
	assert.Contains(t, err.Error(), "3 entries lost")
	require.NoError(t, e.Flush(context.Background()), "exactly once")
	got := f.delivered()
	assert.Equal(t, "0", got[0], "the batch in flight is never dropped")
	assert.Equal(t, []string{"4", "5"}, got[1:], "the newest survive")
	assert.EqualValues(t, 3, e.Lost(), "delivered + dropped = added")
	require.NoError(t, e.Close(context.Background()))
}

func TestBlockWaitsForRoom(t *testing.T) {
	f := &fakeSender{gate: make(chan struct{})}
	e := newEngine(t, Config{MaxBatchEntries: 1, MaxBatchBytes: 1, MaxPendingBytes: 2, Overflow: Block, BlockTimeout: time.Hour}, f)
	addN(t, e, 0, 2)
	done := make(chan error)
	go func() { done <- e.Add(context.Background(), []byte("2")) }()
	select {
	case err := <-done:
		t.Fatalf("Add did not wait for room: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(f.gate) // the receiver answers; room frees up
	require.NoError(t, <-done)
	require.NoError(t, e.Flush(context.Background()))
	assert.Equal(t, seq(0, 3), f.delivered())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	f.mu.Lock()
	f.gate = make(chan struct{})
	gate := f.gate
	f.mu.Unlock()
	addN(t, e, 3, 5)
	assert.ErrorIs(t, e.Add(ctx, []byte("5")), ErrDropped, "Block gives up with the caller's context")
	close(gate)
	assert.ErrorIs(t, e.Close(context.Background()), ErrDropped, "the refused entry is counted by the final flush")
}

// waitFreed waits until a batch has finished since freed was before.
func waitFreed(t *testing.T, e *Engine, before uint64) {
	t.Helper()
	e.lock()
	defer e.unlock()
	require.NoError(t, e.space.Wait(t.Context(), locker{e}, func() bool { return e.freed != before }))
}

// A receiver that stops answering: after two block timeouts with no batch
// finishing, Block drops at once instead of stalling every call a whole
// timeout; a batch finishing ends that.
func TestBlockStopsWaitingWhileReceiverStalled(t *testing.T) {
	f := &fakeSender{gate: make(chan struct{})}
	e := newEngine(t, Config{MaxBatchEntries: 1, MaxBatchBytes: 1, MaxPendingBytes: 2, Overflow: Block, BlockTimeout: 20 * time.Millisecond}, f)
	addN(t, e, 0, 2)
	for i := range 2 { // two whole timeouts, nothing finishing
		err := e.Add(context.Background(), []byte("w"))
		require.ErrorIs(t, err, ErrDropped)
		require.NotErrorIs(t, err, ErrStalled, "wait %d: waited its timeout", i)
	}
	err := e.Add(context.Background(), []byte("s"))
	require.ErrorIs(t, err, ErrDropped)
	require.ErrorIs(t, err, ErrStalled, "stalled: dropped without waiting")

	e.lock()
	before := e.freed
	e.unlock()
	f.gate <- struct{}{} // the receiver answers one batch
	waitFreed(t, e, before)
	require.NoError(t, e.Add(context.Background(), []byte("2")), "room again")
	err = e.Add(context.Background(), []byte("x"))
	require.ErrorIs(t, err, ErrDropped)
	require.NotErrorIs(t, err, ErrStalled, "a batch finished: calls wait again")

	close(f.gate)
	require.ErrorIs(t, e.Close(context.Background()), ErrDropped)
	assert.Equal(t, []string{"0", "1", "2"}, f.delivered())
	assert.EqualValues(t, 4, e.Lost(), "every drop counted, stalled or not")
}

// A receiver only slower than the timeout: a batch finishing between two
// timed-out waits starts the count again, so no call is refused unwaited.
func TestBlockOneTimeoutIsNotAStall(t *testing.T) {
	f := &fakeSender{gate: make(chan struct{})}
	e := newEngine(t, Config{MaxBatchEntries: 1, MaxBatchBytes: 1, MaxPendingBytes: 2, Overflow: Block, BlockTimeout: 20 * time.Millisecond}, f)
	addN(t, e, 0, 2)
	require.ErrorIs(t, e.Add(context.Background(), []byte("w")), ErrDropped)
	e.lock()
	before := e.freed
	e.unlock()
	f.gate <- struct{}{}
	waitFreed(t, e, before)
	require.NoError(t, e.Add(context.Background(), []byte("2")))
	for i := range 2 {
		err := e.Add(context.Background(), []byte("w"))
		require.ErrorIs(t, err, ErrDropped)
		require.NotErrorIs(t, err, ErrStalled, "wait %d after the batch finished", i)
	}
	require.ErrorIs(t, e.Add(context.Background(), []byte("s")), ErrStalled, "two timeouts since the batch finished")
	close(f.gate)
	require.ErrorIs(t, e.Close(context.Background()), ErrDropped)
}

// The caller's deadline ending a wait says nothing of the receiver: it
// never counts toward a stall.
func TestBlockCallerDeadlineIsNotAStall(t *testing.T) {
	f := &fakeSender{gate: make(chan struct{})}
	e := newEngine(t, Config{MaxBatchEntries: 1, MaxBatchBytes: 1, MaxPendingBytes: 2, Overflow: Block, BlockTimeout: time.Hour}, f)
	addN(t, e, 0, 2)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		err := e.Add(ctx, []byte("w"))
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NotErrorIs(t, err, ErrStalled)
	}
	e.lock()
	assert.True(t, e.stallSince.IsZero(), "no stall noted")
	e.unlock()
	close(f.gate)
	require.ErrorIs(t, e.Close(context.Background()), ErrDropped)
}

func TestConcurrencyDeliversEverything(t *testing.T) {
	f := &fakeSender{}
	e := newEngine(t, Config{MaxBatchEntries: 3, Concurrency: 4}, f)
	addN(t, e, 0, 200)
	require.NoError(t, e.Flush(context.Background()))
	assert.ElementsMatch(t, seq(0, 200), f.delivered())
	require.NoError(t, e.Close(context.Background()))
}

func TestFlushKeepsDataWhenItsContextEnds(t *testing.T) {
	f := &fakeSender{gate: make(chan struct{})}
	e := newEngine(t, Config{}, f)
	addN(t, e, 0, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := e.Flush(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "5 entries not yet delivered")
	close(f.gate)
	require.NoError(t, e.Flush(context.Background()))
	assert.Equal(t, seq(0, 5), f.delivered())
	assert.Zero(t, e.Lost())
	require.NoError(t, e.Close(context.Background()))
	assert.ErrorIs(t, e.Add(context.Background(), []byte("late")), ErrClosed)
}

func TestNonRetryableStatus(t *testing.T) {
	calls := 0
	f := &fakeSender{fn: func(int) error { calls++; return &finalErr{413} }}
	e := newEngine(t, Config{}, f)
	addN(t, e, 0, 1)
	err := e.Flush(context.Background())
	var fe *finalErr
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, 413, fe.code)
	assert.Equal(t, 1, calls)
	require.NoError(t, e.Close(context.Background()))
}

// A failure Evaluate names a wait for is retried after that wait, not
// the backoff (HTTP's Retry-After lives in the sender's Evaluate).
func TestEvaluateWait(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	f := &fakeSender{fn: func(int) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		if len(at) == 1 {
			return errors.New("busy")
		}
		return nil
	}}
	e := newEngine(t, Config{InitialBackoff: time.Hour, MaxBackoff: time.Hour,
		Evaluate: func(error) (bool, time.Duration) { return true, 30 * time.Millisecond }}, f)
	addN(t, e, 0, 1)
	require.NoError(t, e.Flush(context.Background()))
	mu.Lock()
	require.Len(t, at, 2)
	assert.GreaterOrEqual(t, at[1].Sub(at[0]), 30*time.Millisecond, "the named wait, not an hour of backoff")
	mu.Unlock()
	require.NoError(t, e.Close(context.Background()))
}

// A wait longer than what is left of the budget ends the batch at once,
// however long: a hostile or broken receiver's Retry-After of centuries
// (the header parser saturates at the largest Duration) must not overflow
// the budget check into waiting for ever.
func TestWaitBeyondBudgetGivesUp(t *testing.T) {
	for _, wait := range []time.Duration{time.Hour, math.MaxInt64 - time.Second, math.MaxInt64} {
		t.Run(wait.String(), func(t *testing.T) {
			calls := 0
			f := &fakeSender{fn: func(int) error { calls++; return errors.New("busy") }}
			e := newEngine(t, Config{RetryBudget: time.Minute,
				Evaluate: func(error) (bool, time.Duration) { return true, wait }}, f)
			addN(t, e, 0, 2)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := e.Flush(ctx)
			require.Error(t, err)
			require.NoError(t, ctx.Err(), "the batch was given up, not left waiting")
			assert.Contains(t, err.Error(), "gave up after 1 attempts")
			assert.Equal(t, 1, calls)
			assert.EqualValues(t, 2, e.Lost())
			require.NoError(t, e.Close(context.Background()))
		})
	}
}

// The exponential ceiling never overflows: a batch retried for a day with
// a 30 s first interval reaches attempts where the interval shifted left
// passes what a Duration holds, and a wrapped (negative) ceiling made
// rand.N panic in the sender goroutine, taking the process with it.
func TestBackoffStaysWithinItsBounds(t *testing.T) {
	for _, initial := range []time.Duration{time.Millisecond, 30 * time.Second, time.Hour, math.MaxInt64 / 2} {
		e := &Engine{cfg: Config{InitialBackoff: initial, MaxBackoff: max(initial, 5*time.Minute)}}
		for attempt := range 200 {
			d := e.backoff(attempt)
			require.Positive(t, d, "initial %v, attempt %d", initial, attempt)
			require.LessOrEqual(t, d, e.cfg.MaxBackoff, "initial %v, attempt %d", initial, attempt)
		}
	}
	e := &Engine{cfg: Config{InitialBackoff: time.Second, MaxBackoff: time.Hour}}
	assert.LessOrEqual(t, e.backoff(0), time.Second, "the first wait is within the first interval")
	assert.LessOrEqual(t, e.backoff(3), 8*time.Second)
}

// A Send that panics (the caller's http.Client transport runs inside it)
// does not end the program from the engine's goroutine: the batch fails,
// counted and not retried, and the next batch is sent as usual.
func TestPanickingSendIsContained(t *testing.T) {
	calls := 0
	f := &fakeSender{fn: func(n int) error {
		calls++
		if calls == 1 {
			panic("transport bug")
		}
		return nil
	}}
	e := newEngine(t, Config{MaxBatchEntries: 2}, f)
	addN(t, e, 0, 2)
	err := e.Flush(context.Background())
	require.ErrorIs(t, err, ErrSendPanicked)
	assert.ErrorContains(t, err, "transport bug")
	assert.EqualValues(t, 2, e.Lost())
	assert.Equal(t, 1, calls, "not retried")
	addN(t, e, 2, 4)
	require.NoError(t, e.Flush(context.Background()))
	assert.Equal(t, seq(2, 4), f.delivered())
	require.NoError(t, e.Close(context.Background()))
}

func TestConfigValidation(t *testing.T) {
	_, err := New(Config{MaxPendingBytes: 10, MaxBatchBytes: 100}, &fakeSender{}, nil)
	assert.ErrorContains(t, err, "pending bound 10 is below the batch size")
	_, err = New(Config{InitialBackoff: time.Second, MaxBackoff: time.Millisecond}, &fakeSender{}, nil)
	assert.ErrorContains(t, err, "backoff")
	_, err = New(Config{Overflow: 7}, &fakeSender{}, nil)
	assert.ErrorContains(t, err, "overflow")
	_, err = New(Config{EntryOverhead: -1}, &fakeSender{}, nil)
	assert.ErrorContains(t, err, "negative framing overhead")
}

// The framing a body adds counts against MaxBatchBytes: batches are sealed
// before their body would exceed it, and an entry larger than a batch goes
// alone.
func TestBatchBytesCountTheFraming(t *testing.T) {
	f := &fakeSender{}
	e := newEngine(t, Config{MaxBatchEntries: 100, MaxBatchBytes: 20, EntryOverhead: 1, BatchOverhead: 2}, f)
	// 2 + 3×(5+1) = 20: three 5-byte entries fill a batch exactly; 2 + 4×(3+1) = 18,
	// and a fifth would make 22.
	for _, entry := range []string{"aaaaa", "bbbbb", "ccccc", "ddd", "eee", "fff", "ggg", "hhh", strings.Repeat("x", 30), "i"} {
		require.NoError(t, e.Add(context.Background(), []byte(entry)))
	}
	require.NoError(t, e.Flush(context.Background()))
	require.NoError(t, e.Close(context.Background()))
	assert.Equal(t, [][]string{
		{"aaaaa", "bbbbb", "ccccc"},
		{"ddd", "eee", "fff", "ggg"},
		{"hhh"},
		{strings.Repeat("x", 30)},
		{"i"},
	}, f.batches)
}

// Drops are reported at most once a second, with their count, so an
// overload does not flood the error handler.
func TestDropReportsAreCoalesced(t *testing.T) {
	var mu sync.Mutex
	var reports []error
	f := &fakeSender{gate: make(chan struct{})}
	e, err := New(Config{MaxBatchEntries: 1, MaxBatchBytes: 1, MaxPendingBytes: 1}, f,
		func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() })
	require.NoError(t, err)
	for i := range 200 {
		_ = e.Add(context.Background(), []byte(fmt.Sprint(i%10)))
	}
	assert.EqualValues(t, 199, e.Lost())
	mu.Lock()
	assert.Len(t, reports, 1, "199 drops within a second, one report")
	mu.Unlock()
	close(f.gate)
	err = e.Close(context.Background())
	assert.ErrorIs(t, err, ErrDropped)
	assert.Contains(t, err.Error(), "199 entries lost")
	mu.Lock()
	assert.Len(t, reports, 2, "the last window of drops is reported at Close")
	assert.Contains(t, reports[1].Error(), "198 entries dropped")
	mu.Unlock()
}

// A batch refused in the background before a flush was called is still
// reported by that flush: a flush that returns nil never hides a loss.
func TestFlushReportsEarlierBackgroundFailure(t *testing.T) {
	first := true
	f := &fakeSender{fn: func(int) error {
		if first {
			first = false
			return &finalErr{400}
		}
		return nil
	}}
	e := newEngine(t, Config{MaxBatchAge: time.Millisecond}, f)
	addN(t, e, 0, 1)
	require.Eventually(t, func() bool { return e.Lost() == 1 }, 5*time.Second, time.Millisecond)
	addN(t, e, 1, 2)
	err := e.Flush(context.Background())
	var fe *finalErr
	require.True(t, errors.As(err, &fe), "flush after a background 400 = %v", err)
	assert.Contains(t, err.Error(), "1 entries lost")
	require.NoError(t, e.Flush(context.Background()), "reported exactly once")
	assert.Equal(t, []string{"1"}, f.delivered())
	require.NoError(t, e.Close(context.Background()))
}

func TestCloseConcurrentAndTwice(t *testing.T) {
	f := &fakeSender{}
	e := newEngine(t, Config{}, f)
	addN(t, e, 0, 10)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); assert.NoError(t, e.Close(context.Background())) }()
		go func() { defer wg.Done(); _ = e.Add(context.Background(), []byte("x")) }()
	}
	wg.Wait()
	require.NoError(t, e.Close(context.Background()))
	assert.Subset(t, f.delivered(), seq(0, 10))
}

func TestCloseEndedContextReleasesAndCounts(t *testing.T) {
	f := &fakeSender{gate: make(chan struct{})}
	e := newEngine(t, Config{}, f)
	addN(t, e, 0, 5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.Close(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "5 entries lost")
	assert.EqualValues(t, 5, e.Lost())
	assert.Equal(t, err, e.Close(context.Background()), "a later Close returns the first one's result")
	close(f.gate)
}

// A Close on a never-used engine starts no goroutine, and an Add racing
// with Close either is refused or is delivered/counted.
func TestAddAfterCloseStartsNothing(t *testing.T) {
	e := newEngine(t, Config{}, &fakeSender{})
	require.NoError(t, e.Close(context.Background()))
	assert.ErrorIs(t, e.Add(context.Background(), []byte("x")), ErrClosed)
}

// The error handler may log, and logging may come back into the engine: it
// is never called with the engine's lock held.
func TestErrorHandlerRunsWithoutTheLock(t *testing.T) {
	var e *Engine
	calls := make(chan int, 100)
	handler := func(error) { calls <- e.PendingBytes() } // takes the lock
	f := &fakeSender{fn: func(int) error { return &finalErr{400} }}
	var err error
	e, err = New(Config{MaxBatchEntries: 1, MaxBatchBytes: 1, MaxPendingBytes: 1, Evaluate: evaluate}, f, handler)
	require.NoError(t, err)
	addN(t, e, 0, 1)
	_ = e.Add(context.Background(), []byte("overflow"))
	done := make(chan error, 1)
	go func() { done <- e.Close(context.Background()) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler deadlocked on the engine's lock")
	}
	assert.NotEmpty(t, calls)
}

// A flush waiting without a deadline while Close abandons its batches
// returns, with the loss, instead of waiting forever.
func TestFlushWaitingWhenCloseAbandons(t *testing.T) {
	f := &fakeSender{gate: make(chan struct{})}
	e := newEngine(t, Config{MaxBatchEntries: 1}, f)
	addN(t, e, 0, 3) // one in flight at the gate, two queued
	flushed := make(chan error, 1)
	go func() { flushed <- e.Flush(context.Background()) }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, e.Close(ctx), context.Canceled)
	select {
	case err := <-flushed:
		assert.Error(t, err, "the flush does not report success for abandoned entries")
	case <-time.After(5 * time.Second):
		t.Fatal("a flush waiting for abandoned batches never returned")
	}
	close(f.gate)
}

// AddBatch takes every entry it can under one lock; with Block, the
// timeout covers the call, and once it has passed no later entry of the
// call waits again.
func TestAddBatch(t *testing.T) {
	f := &fakeSender{}
	e := newEngine(t, Config{}, f)
	failed, err := e.AddBatch(context.Background(), [][]byte{[]byte("0"), []byte("1"), []byte("2")})
	require.NoError(t, err)
	assert.Zero(t, failed)
	require.NoError(t, e.Flush(context.Background()))
	assert.Equal(t, seq(0, 3), f.delivered())
	require.NoError(t, e.Close(context.Background()))
	failed, err = e.AddBatch(context.Background(), [][]byte{[]byte("x"), []byte("y")})
	assert.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, 2, failed)

	stalled := &fakeSender{gate: make(chan struct{})}
	e = newEngine(t, Config{MaxBatchEntries: 1, MaxBatchBytes: 1, MaxPendingBytes: 2, Overflow: Block, BlockTimeout: 20 * time.Millisecond}, stalled)
	// Were a later entry to wait again, it would wait for ctx: the
	// failure would show as its error, not as a hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	failed, err = e.AddBatch(ctx, [][]byte{[]byte("0"), []byte("1"), []byte("2"), []byte("3"), []byte("4")})
	assert.ErrorIs(t, err, ErrDropped)
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 3, failed, "two fit in the bound; three are refused after one timeout")
	close(stalled.gate)
	require.Error(t, e.Close(context.Background()), "the drops are reported")
}

// A receiver that refuses every batch (a revoked key) has the handler told
// of the first at once and of the others as one counted report, at the
// latest at Close; every loss still fails the flush.
func TestGiveUpReportsAreCoalesced(t *testing.T) {
	prev := reportEvery
	reportEvery = time.Hour
	defer func() { reportEvery = prev }()
	var mu sync.Mutex
	var reports []error
	f := &fakeSender{fn: func(int) error { return &finalErr{401} }}
	e, err := New(Config{MaxBatchEntries: 1, Evaluate: evaluate}, f,
		func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() })
	require.NoError(t, err)
	addN(t, e, 0, 50)
	err = e.Flush(context.Background())
	assert.ErrorContains(t, err, "50 entries lost")
	mu.Lock()
	assert.Len(t, reports, 1, "50 batches refused, one report")
	mu.Unlock()
	require.NoError(t, e.Close(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reports, 2)
	assert.ErrorIs(t, reports[1], errlimit.ErrHeld)
	assert.Contains(t, reports[1].Error(), "49 failures")
}

// errTooLarge is final (the test's evaluate does not retry it), as an
// HTTP 413 is.
var errTooLarge = &finalErr{413}

// A batch refused for its size goes out in halves, down to single entries,
// under keys derived from its own, in order, each entry once; a single
// entry still refused is lost alone, and counted.
func TestTooLargeBatchIsSplit(t *testing.T) {
	const most = 3 // entries the receiver takes in one request
	f := &fakeSender{refuse: func(_ string, entries [][]byte) error {
		if len(entries) > most {
			return errTooLarge
		}
		for _, e := range entries {
			if string(e) == "huge" {
				return errTooLarge
			}
		}
		return nil
	}}
	e := newEngine(t, Config{MaxBatchEntries: 100, RetryBudget: 5 * time.Second, TooLarge: func(err error) bool { return errors.Is(err, errTooLarge) }}, f)
	addN(t, e, 0, 5)
	require.NoError(t, e.Add(context.Background(), []byte("huge")))
	addN(t, e, 5, 10)
	err := e.Flush(context.Background())
	require.ErrorIs(t, err, errTooLarge)
	assert.ErrorContains(t, err, "1 entries lost", "the huge entry alone")
	require.NoError(t, e.Close(context.Background()))

	assert.Equal(t, seq(0, 10), f.delivered(), "every other entry once, in order")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.batches {
		assert.LessOrEqual(t, len(b), most)
	}
	root := f.keys[0]
	for _, k := range f.keys[1:] {
		assert.True(t, strings.HasPrefix(k, root+"."), "%q derives from %q", k, root)
	}
	assert.Contains(t, f.keys, root+".1.1", "halves of halves")
}
