package flushacct

import (
	"context"
	"sync"
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

// Wait waits until ready() holds, releasing l meanwhile and holding it
// again when it returns. ready is only called with l held. If ctx ends
// first, Wait returns ctx.Err(), unless ready() holds by then: an answer
// that is ready wins over a context that ended at the same moment.
func (c *Cond) Wait(ctx context.Context, l sync.Locker, ready func() bool) error {
	for !ready() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.ch == nil {
			c.ch = make(chan struct{})
		}
		ch := c.ch
		l.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		l.Lock()
	}
	return nil
}
