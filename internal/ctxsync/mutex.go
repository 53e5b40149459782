// Package ctxsync holds synchronisation primitives whose waits end with a
// context, so that a caller stuck behind slow I/O can still honour its
// deadline.
package ctxsync

import "context"

// Mutex is a mutual exclusion lock whose Lock gives up when ctx ends. The
// zero value is not usable; create one with NewMutex.
type Mutex struct {
	ch chan struct{}
}

// NewMutex returns an unlocked Mutex.
func NewMutex() *Mutex { return &Mutex{ch: make(chan struct{}, 1)} }

// Lock acquires m, or returns ctx.Err() if ctx ends first. An already ended
// ctx fails even when m is free, so no work starts on a dead context.
func (m *Mutex) Lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case m.ch <- struct{}{}:
		return nil
	default:
	}
	select {
	case m.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryLock acquires m if it is free and reports whether it did.
func (m *Mutex) TryLock() bool {
	select {
	case m.ch <- struct{}{}:
		return true
	default:
		return false
	}
}

// Unlock releases m. Unlocking an unlocked Mutex panics, like sync.Mutex.
func (m *Mutex) Unlock() {
	select {
	case <-m.ch:
	default:
		panic("ctxsync: unlock of unlocked mutex")
	}
}
