package flushacct

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fapilog/fapilog-otel/internal/monotime"
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

	// bound is the one timer behind every WaitFor's deadline. It is set
	// for the earliest deadline a waiter needs and moved only when that
	// has passed: waits that end in microseconds, one per Export, would
	// otherwise each start and stop a timer of their own, which measured
	// about a tenth of a one-record Export's time. It wakes every waiter
	// (they check their own deadline and ask again), so a wait ends by
	// its deadline whatever the others do.
	bound    *time.Timer
	boundAt  time.Duration // when bound fires (monotime), if boundSet
	boundSet bool
	owner    sync.Locker // the owner's lock, which bound's wake-up takes
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

// WaitFor is Wait bounded also by d: it returns ErrWaitTimeout when d
// passes before ready() holds. Every call must pass the same l.
func (c *Cond) WaitFor(ctx context.Context, l sync.Locker, d time.Duration, ready func() bool) error {
	if ready() {
		return nil
	}
	return c.wait(ctx, l, monotime.Now()+d, ready)
}

// boundLocked makes sure a wake-up comes by at: the timer is set for an
// earlier time already, or is moved to at.
func (c *Cond) boundLocked(l sync.Locker, at time.Duration) {
	if c.boundSet && c.boundAt <= at {
		return
	}
	c.boundAt, c.boundSet = at, true
	if c.bound == nil {
		c.owner = l
		c.bound = time.AfterFunc(at-monotime.Now(), c.expire)
		return
	}
	// If the timer has just run, expire may be waiting for the lock:
	// it then clears boundAt and wakes everyone, and each waiter sets the
	// timer again, so no wait goes without a wake-up by its deadline.
	c.bound.Reset(at - monotime.Now())
}

// expire wakes every waiter to check its deadline.
func (c *Cond) expire() {
	c.owner.Lock()
	defer c.owner.Unlock()
	c.boundSet = false
	c.Broadcast()
}

// Wait waits until ready() holds, releasing l meanwhile and holding it
// again when it returns. ready is only called with l held. If ctx ends
// first, Wait returns ctx.Err(), unless ready() holds by then: an answer
// that is ready wins over a context that ended at the same moment.
func (c *Cond) Wait(ctx context.Context, l sync.Locker, ready func() bool) error {
	return c.wait(ctx, l, noDeadline, ready)
}

const noDeadline = time.Duration(-1)

// wait is Wait, also ended at deadline (monotime) unless it is noDeadline.
func (c *Cond) wait(ctx context.Context, l sync.Locker, deadline time.Duration, ready func() bool) error {
	for woken := false; !ready(); woken = true {
		if err := ctx.Err(); err != nil {
			return err
		}
		if deadline != noDeadline {
			// Only a wake-up can find the deadline passed: WaitFor
			// has just read the clock before the first round.
			if woken && monotime.Now() >= deadline {
				return ErrWaitTimeout
			}
			c.boundLocked(l, deadline)
		}
		ch := c.enter()
		l.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		l.Lock()
		c.leave(ch)
	}
	return nil
}
