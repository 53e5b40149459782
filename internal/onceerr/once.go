// Package onceerr runs a shutdown-like operation once and gives its result
// to every caller: the one rule all of the project's Shutdown, Stop and
// Close methods share. The first call does the work; a later or concurrent
// call waits for it within its own context and returns the same result, so
// a failed shutdown is never turned into nil by a second call, and none
// runs twice.
package onceerr

import (
	"context"
	"fmt"
	"sync"
)

// Once is ready to use as its zero value and safe for concurrent use.
type Once struct {
	mu      sync.Mutex
	started bool
	done    chan struct{} // closed when the first call has returned
	err     error
}

// Do runs f if it is the first call, and returns f's result to every call.
// A call that finds f still running waits for it until ctx ends, and then
// returns an error, prefixed with what, that wraps ctx.Err(). (sync.Once
// would make that caller wait for f whatever its context says.)
func (o *Once) Do(ctx context.Context, what string, f func() error) error {
	o.mu.Lock()
	if !o.started {
		o.started = true
		o.done = make(chan struct{})
		o.mu.Unlock()
		o.err = f()
		close(o.done)
		return o.err
	}
	done := o.done
	o.mu.Unlock()
	select {
	case <-done: // a result that is ready wins over an ended context
		return o.err
	default:
	}
	select {
	case <-done:
		return o.err
	case <-ctx.Done():
		return fmt.Errorf("%s: waiting for a concurrent call: %w", what, ctx.Err())
	}
}
