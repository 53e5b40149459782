// Package ctxsync holds synchronisation primitives whose waits end with a
// context, so that a caller stuck behind slow I/O can still honour its
// deadline.
package ctxsync

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Mutex is a mutual exclusion lock whose Lock gives up when ctx ends. An
// uncontended Lock and Unlock cost what sync.Mutex's do; only waiters touch
// the wake-up channel. The zero value is not usable; create one with
// NewMutex.
type Mutex struct {
	mu      sync.Mutex
	waiters atomic.Int32
	// wake holds at most one token, sent by Unlock when someone waits.
	// A waiter that takes it retries the lock; a later Unlock sends
	// another, so no wake-up is lost.
	wake chan struct{}
}

// NewMutex returns an unlocked Mutex.
func NewMutex() *Mutex { return &Mutex{wake: make(chan struct{}, 1)} }

// Lock acquires m, or returns ctx.Err() if ctx ends first. An already ended
// ctx fails even when m is free, so no work starts on a dead context.
func (m *Mutex) Lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.mu.TryLock() {
		return nil
	}
	m.waiters.Add(1)
	defer m.waiters.Add(-1)
	for {
		// Registered as a waiter before this try, so an Unlock that
		// happens after it sees us and sends a token.
		if m.mu.TryLock() {
			return nil
		}
		select {
		case <-m.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Grace is how long LockAccepting waits for a lock on an ended context.
const Grace = 20 * time.Millisecond

// LockAccepting acquires m for work that must not be refused merely because
// its context ended (taking an entry into memory): it waits as long as ctx
// allows, and on an ended ctx still up to Grace, long enough for a brief
// holder to let go, short enough to stay prompt.
func (m *Mutex) LockAccepting(ctx context.Context) error {
	if m.mu.TryLock() {
		return nil
	}
	if ctx.Err() == nil {
		return m.Lock(ctx)
	}
	grace, cancel := context.WithTimeout(context.Background(), Grace)
	defer cancel()
	if err := m.Lock(grace); err != nil {
		return ctx.Err()
	}
	return nil
}

// TryLock acquires m if it is free and reports whether it did.
func (m *Mutex) TryLock() bool { return m.mu.TryLock() }

// Unlock releases m. Unlocking an unlocked Mutex is a fatal error, as with
// sync.Mutex.
func (m *Mutex) Unlock() {
	m.mu.Unlock()
	if m.waiters.Load() > 0 {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}
