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
	ch chan struct{} // closed by Broadcast; nil while nobody waits
}

// Broadcast wakes every waiter, so each re-checks its condition.
func (c *Cond) Broadcast() {
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
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
		if c.ch == nil {
			c.ch = make(chan struct{})
		}
		ch := c.ch
		l.Unlock()
		timedOut := false
		select {
		case <-ch:
		case <-ctx.Done():
		case <-timeout:
			timedOut = true
		}
		l.Lock()
		if timedOut && !ready() {
			return ErrWaitTimeout
		}
	}
	return nil
}
