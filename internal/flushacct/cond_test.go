package flushacct

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCondWaitsForTheCondition(t *testing.T) {
	var mu sync.Mutex
	var c Cond
	n := 0
	done := make(chan error, 1)
	mu.Lock()
	go func() {
		mu.Lock()
		defer mu.Unlock()
		done <- c.Wait(context.Background(), &mu, func() bool { return n >= 3 })
	}()
	mu.Unlock()
	for range 3 {
		mu.Lock()
		n++
		c.Broadcast()
		mu.Unlock()
	}
	require.NoError(t, <-done)
}

// A waiter gives up when its context ends, and leaves nothing behind: it
// is no longer registered, and its channel is kept, empty, for the next
// wait.
func TestCondHonoursContext(t *testing.T) {
	var mu sync.Mutex
	var c Cond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		mu.Lock()
		defer mu.Unlock()
		done <- c.Wait(ctx, &mu, func() bool { return false })
	}()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(c.waiters) == 1
	}, 10*time.Second, time.Millisecond, "the waiter registers")
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)

	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, c.waiters)
	require.Len(t, c.free, 1)
	assert.Zero(t, len(c.free[0]), "a kept channel holds no stale wake-up")
	assert.ErrorIs(t, c.WaitFor(context.Background(), &mu, time.Millisecond, func() bool { return false }), ErrWaitTimeout)
	assert.Empty(t, c.waiters)
	assert.Len(t, c.free, 1, "the channel was reused")

	// Ready wins over an ended context; an ended one never blocks.
	assert.NoError(t, c.Wait(ctx, &mu, func() bool { return true }))
	assert.ErrorIs(t, c.Wait(ctx, &mu, func() bool { return false }), context.Canceled)
}

// A Broadcast with nobody waiting keeps nothing.
func TestCondBroadcastWithoutWaiters(t *testing.T) {
	var c Cond
	c.Broadcast()
	assert.Empty(t, c.waiters)
}

// Every waiter is woken by one Broadcast, each re-checking its own
// condition.
func TestCondBroadcastWakesEveryWaiter(t *testing.T) {
	var mu sync.Mutex
	var c Cond
	n := 0
	const waiters = 8
	done := make(chan error, waiters)
	mu.Lock()
	for i := range waiters {
		go func() {
			mu.Lock()
			defer mu.Unlock()
			done <- c.Wait(context.Background(), &mu, func() bool { return n > i })
		}()
	}
	mu.Unlock()
	mu.Lock()
	n = waiters
	c.Broadcast()
	mu.Unlock()
	for range waiters {
		require.NoError(t, <-done)
	}
}

// In steady state a wait allocates nothing, bounded or not: it runs once
// per Export on the line sinks' path (one timer serves every WaitFor,
// made once).
func TestCondWaitDoesNotAllocate(t *testing.T) {
	for _, bounded := range []bool{false, true} {
		t.Run(map[bool]string{false: "Wait", true: "WaitFor"}[bounded], func(t *testing.T) {
			var mu sync.Mutex
			var c Cond
			n := 0
			kick, stop := make(chan struct{}), make(chan struct{})
			go func() {
				for {
					select {
					case <-kick:
						mu.Lock()
						n++
						c.Broadcast()
						mu.Unlock()
					case <-stop:
						return
					}
				}
			}()
			defer close(stop)
			once := func() {
				mu.Lock()
				target := n + 1
				kick <- struct{}{} // taken now; the increment waits for the wait to release mu
				// Called directly, so that the closure stays on the
				// stack, as in the writer.
				var err error
				if bounded {
					err = c.WaitFor(context.Background(), &mu, time.Hour, func() bool { return n >= target })
				} else {
					err = c.Wait(context.Background(), &mu, func() bool { return n >= target })
				}
				require.NoError(t, err)
				mu.Unlock()
			}
			once()
			assert.Zero(t, testing.AllocsPerRun(200, once))
		})
	}
}

func TestCondWaitForTimesOut(t *testing.T) {
	var mu sync.Mutex
	var c Cond
	mu.Lock()
	defer mu.Unlock()
	assert.ErrorIs(t, c.WaitFor(context.Background(), &mu, time.Millisecond, func() bool { return false }), ErrWaitTimeout)
	assert.NoError(t, c.WaitFor(context.Background(), &mu, time.Millisecond, func() bool { return true }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, c.WaitFor(ctx, &mu, time.Hour, func() bool { return false }), context.Canceled)
}

// Every WaitFor ends by its own deadline, whatever the other waiters'
// deadlines and whichever came first: the one timer behind them is moved
// to the earliest, and a waiter is never woken for good before its own.
func TestCondWaitForEachEndsByItsDeadline(t *testing.T) {
	var mu sync.Mutex
	var c Cond
	type result struct {
		d       time.Duration
		err     error
		elapsed time.Duration
	}
	// Long deadlines first, then shorter ones, then long ones again.
	ds := []time.Duration{time.Hour, 80 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan result, len(ds))
	for _, d := range ds {
		entered := make(chan struct{})
		go func() {
			mu.Lock()
			defer mu.Unlock()
			close(entered) // WaitFor releases mu once it waits
			start := time.Now()
			err := c.WaitFor(ctx, &mu, d, func() bool { return false })
			results <- result{d, err, time.Since(start)}
		}()
		<-entered
	}
	for range 3 { // the three short ones end by their deadlines, on their own
		select {
		case r := <-results:
			require.ErrorIs(t, r.err, ErrWaitTimeout, "deadline %v", r.d)
			assert.Less(t, r.d, time.Hour)
			assert.GreaterOrEqual(t, r.elapsed, r.d, "woken for good before its deadline")
		case <-time.After(10 * time.Second):
			t.Fatal("a short wait did not end by its deadline")
		}
	}
	cancel()
	for range 2 {
		r := <-results
		assert.ErrorIs(t, r.err, context.Canceled, "the hour-long waits end only with their context")
	}
}
