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
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)

	// Ready wins over an ended context; an ended one never blocks.
	mu.Lock()
	assert.NoError(t, c.Wait(ctx, &mu, func() bool { return true }))
	assert.ErrorIs(t, c.Wait(ctx, &mu, func() bool { return false }), context.Canceled)
	mu.Unlock()
}

// A Broadcast with nobody waiting allocates nothing and keeps nothing.
func TestCondBroadcastWithoutWaiters(t *testing.T) {
	var c Cond
	c.Broadcast()
	assert.Nil(t, c.ch)
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
