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

// In steady state a wait allocates nothing: it runs once per Export on
// the line sinks' path.
func TestCondWaitDoesNotAllocate(t *testing.T) {
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
	wait := func() {
		mu.Lock()
		target := n + 1
		kick <- struct{}{} // taken now; the increment waits for Wait to release mu
		require.NoError(t, c.Wait(context.Background(), &mu, func() bool { return n >= target }))
		mu.Unlock()
	}
	wait()
	assert.Zero(t, testing.AllocsPerRun(200, wait))
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
