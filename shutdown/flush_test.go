package shutdown_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/shutdown"
)

func TestMain(m *testing.M) {
	if runChild() {
		return
	}
	goleak.VerifyTestMain(m)
}

type target struct {
	flushErr, shutdownErr error
	block                 chan struct{}
	flushes, shutdowns    atomic.Int32
	order                 []string
}

func (t *target) ForceFlush(ctx context.Context) error {
	t.flushes.Add(1)
	t.order = append(t.order, "flush")
	if t.block != nil {
		select {
		case <-t.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return t.flushErr
}

func (t *target) Shutdown(context.Context) error {
	t.shutdowns.Add(1)
	t.order = append(t.order, "shutdown")
	return t.shutdownErr
}

type flushOnly struct{ n atomic.Int32 }

func (f *flushOnly) ForceFlush(context.Context) error { f.n.Add(1); return nil }

func TestFlushJoinsErrors(t *testing.T) {
	e1, e2 := errors.New("one"), errors.New("two")
	a, b, c := &target{flushErr: e1}, &target{flushErr: e2}, &flushOnly{}
	err := shutdown.Flush(context.Background(), shutdown.Group{a, b, c})
	assert.ErrorIs(t, err, e1)
	assert.ErrorIs(t, err, e2)
	assert.EqualValues(t, 1, c.n.Load())
	assert.NoError(t, shutdown.Flush(context.Background(), shutdown.Group{}))
	// The error names each target that failed.
	var te *shutdown.TargetError
	require.ErrorAs(t, err, &te)
	assert.Contains(t, err.Error(), "flush of target 0 (*shutdown_test.target): one")
	assert.Contains(t, err.Error(), "flush of target 1 (*shutdown_test.target): two")
	assert.Contains(t, err.Error(), "flush of target 2 (*shutdown_test.flushOnly) succeeded", "the report names every target")
}

// A target with a Name method is named by it.
type named struct{ flushOnly }

func (*named) Name() string { return "rotatingfile" }

func TestGroupNamesTargets(t *testing.T) {
	stuck := &target{block: make(chan struct{})}
	defer close(stuck.block)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := shutdown.Flush(ctx, shutdown.Group{&named{}, stuck})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "target 1 (*shutdown_test.target)")
	assert.NotContains(t, err.Error(), "target 0 (rotatingfile):", "the target that finished is not blamed")
	assert.Contains(t, err.Error(), "flush of target 0 (rotatingfile) succeeded")
}

func TestFlushRespectsDeadline(t *testing.T) {
	stuck := &target{block: make(chan struct{})}
	defer close(stuck.block)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := shutdown.Flush(ctx, shutdown.Group{stuck, &flushOnly{}})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
}

func TestFlushAndShutdownOrder(t *testing.T) {
	a, b := &target{}, &flushOnly{}
	require.NoError(t, shutdown.FlushAndShutdown(context.Background(), shutdown.Group{a, b}))
	assert.Equal(t, []string{"flush", "shutdown"}, a.order)
	assert.EqualValues(t, 1, b.n.Load())

	// When the flush used up the deadline, Shutdown is not attempted with
	// a dead context.
	stuck := &target{block: make(chan struct{})}
	defer close(stuck.block)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, shutdown.FlushAndShutdown(ctx, stuck), context.DeadlineExceeded)
	assert.Zero(t, stuck.shutdowns.Load())
}

func TestSignalError(t *testing.T) {
	base := errors.New("flush failed")
	e := &shutdown.SignalError{Signal: fakeSignal("SIGTERM"), Err: base}
	assert.ErrorIs(t, e, base)
	assert.Contains(t, e.Error(), "SIGTERM")
}

type fakeSignal string

func (s fakeSignal) String() string { return string(s) }
func (fakeSignal) Signal()          {}

func TestNotifyContextStopsWithParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, stop := shutdown.NotifyContext(parent, &flushOnly{})
	cancel()
	<-ctx.Done()
	stop()
	stop() // idempotent
	assert.ErrorIs(t, context.Cause(ctx), context.Canceled)
}

type panicking struct{}

func (panicking) ForceFlush(context.Context) error { panic("flush bug") }
func (panicking) Shutdown(context.Context) error   { panic("shutdown bug") }

// A target that panics is flushed on a goroutine of this package, where a
// panic would end the process at once: with a stack trace instead of the
// signal's exit status, and before the other targets' flushes finished.
// It becomes that target's error, and the others are flushed.
func TestPanickingTargetIsContained(t *testing.T) {
	err := shutdown.Flush(context.Background(), panicking{})
	assert.ErrorContains(t, err, "panic: flush bug")

	other := &flushOnly{}
	err = shutdown.FlushAndShutdown(context.Background(), shutdown.Group{panicking{}, other})
	assert.ErrorContains(t, err, "panic: flush bug")
	assert.ErrorContains(t, err, "panic: shutdown bug")
	assert.EqualValues(t, 1, other.n.Load(), "the other target was flushed")
}

// Flush, FlushAndShutdown and a Group's ForceFlush and Shutdown, given a
// context that has already ended, return its error at once without calling
// the targets (the SDK's LoggerProvider.Shutdown with an ended context
// would strand its queues for good); called twice they do the work twice;
// called from many goroutines at once they each return, every target
// reached by each call.
func TestEndedContextTwiceAndConcurrently(t *testing.T) {
	a, b := &target{}, &flushOnly{}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for name, f := range map[string]func(context.Context) error{
		"Flush":            func(ctx context.Context) error { return shutdown.Flush(ctx, a) },
		"FlushAndShutdown": func(ctx context.Context) error { return shutdown.FlushAndShutdown(ctx, a) },
		"Group.ForceFlush": shutdown.Group{a, b}.ForceFlush,
		"Group.Shutdown":   shutdown.Group{a, b}.Shutdown,
		"Group via Flush":  func(ctx context.Context) error { return shutdown.Flush(ctx, shutdown.Group{a, b}) },
	} {
		assert.ErrorIs(t, f(ended), context.Canceled, name)
	}
	assert.Zero(t, a.flushes.Load()+a.shutdowns.Load())
	assert.Zero(t, b.n.Load())

	require.NoError(t, shutdown.FlushAndShutdown(context.Background(), a))
	require.NoError(t, shutdown.FlushAndShutdown(context.Background(), a))
	assert.Equal(t, []string{"flush", "shutdown", "flush", "shutdown"}, a.order)

	c, d := &flushOnly{}, &flushOnly{}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for range n {
		wg.Go(func() { errs <- shutdown.Flush(context.Background(), shutdown.Group{c, d}) })
		wg.Go(func() { errs <- shutdown.FlushAndShutdown(context.Background(), c) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 2*n, c.n.Load())
	assert.EqualValues(t, n, d.n.Load())
}
