package flushacct

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Cond is the other half of the flush promise: a flush, or a writer
// waiting for room, waits for state its owner guards with its own lock,
// and gives up when its context ends. It is a sync.Cond that honours a
// context. The zero value is ready to use; every method must be called
// with the owner's lock held.
type Cond struct {
	// Each waiter waits on a channel of its own, with room for one
	// wake-up, which it takes from free and gives back when it leaves:
	// in steady state a wait allocates nothing, where a channel closed
	// per Broadcast would cost one allocation per wait (one per Export on
	// the line sinks' path).
	waiters []chan struct{}
	free    []chan struct{}
}

// Broadcast wakes every waiter, so each re-checks its condition.
func (c *Cond) Broadcast() {
	for i, ch := range c.waiters {
		select {
		case ch <- struct{}{}:
		default: // already woken
		}
		c.waiters[i] = nil
	}
	c.waiters = c.waiters[:0]
}

// enter registers a waiter and returns its channel.
func (c *Cond) enter() chan struct{} {
	var ch chan struct{}
	if k := len(c.free); k > 0 {
		ch = c.free[k-1]
		c.free[k-1] = nil
		c.free = c.free[:k-1]
	} else {
		ch = make(chan struct{}, 1)
	}
	c.waiters = append(c.waiters, ch)
	return ch
}

// leave unregisters ch if a Broadcast has not already, and keeps it, empty,
// for the next waiter. No Broadcast can send to it any more: both run
// under the owner's lock.
func (c *Cond) leave(ch chan struct{}) {
	for i, w := range c.waiters {
		if w == ch {
			last := len(c.waiters) - 1
			c.waiters[i] = c.waiters[last]
			c.waiters[last] = nil
			c.waiters = c.waiters[:last]
			break
		}
	}
	select {
	case <-ch:
	default:
	}
	c.free = append(c.free, ch)
}

// ErrWaitTimeout is returned by WaitFor when its duration passed first.
var ErrWaitTimeout = errors.New("wait timed out")

// timers are reused: WaitFor runs once per Export on the line sinks' path,
// and a new timer per call would be its only allocation.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// WaitFor is Wait bounded also by d: it returns ErrWaitTimeout when d
// passes before ready() holds.
func (c *Cond) WaitFor(ctx context.Context, l sync.Locker, d time.Duration, ready func() bool) error {
	if ready() {
		return nil
	}
	t := timers.Get().(*time.Timer)
	t.Reset(d)
	defer func() {
		t.Stop()
		timers.Put(t)
	}()
	return c.wait(ctx, l, t.C, ready)
}

// Wait waits until ready() holds, releasing l meanwhile and holding it
// again when it returns. ready is only called with l held. If ctx ends
// first, Wait returns ctx.Err(), unless ready() holds by then: an answer
// that is ready wins over a context that ended at the same moment.
func (c *Cond) Wait(ctx context.Context, l sync.Locker, ready func() bool) error {
	return c.wait(ctx, l, nil, ready)
}

// wait is Wait, also ended by timeout when it fires.
func (c *Cond) wait(ctx context.Context, l sync.Locker, timeout <-chan time.Time, ready func() bool) error {
	for !ready() {
		if err := ctx.Err(); err != nil {
			return err
		}
		ch := c.enter()
		l.Unlock()
		timedOut := false
		select {
		case <-ch:
		case <-ctx.Done():
		case <-timeout:
			timedOut = true
		}
		l.Lock()
		c.leave(ch)
		if timedOut && !ready() {
			return ErrWaitTimeout
		}
	}
	return nil
}
