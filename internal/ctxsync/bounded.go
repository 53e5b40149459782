package ctxsync

import (
	"context"
	"fmt"
	"time"
)

// Bounded calls f(ctx) and waits for it until ctx ends and grace more: a
// callee that ignores its context (a buffered writer flushing to a pipe
// nobody reads) must not hold a caller whose deadline has passed. A ctx
// that can never end is waited for as f takes, on the caller's goroutine,
// at no cost. When it stops waiting, f is left running and Bounded returns
// a channel closed once f returns, with an error wrapping ctx.Err(); f's
// own result is then lost. A panic in f, the caller's callee, becomes f's
// error.
func Bounded(ctx context.Context, grace time.Duration, f func(context.Context) error) (left <-chan struct{}, err error) {
	call := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("panicked: %v", v)
			}
		}()
		return f(ctx)
	}
	if ctx.Done() == nil {
		return nil, call()
	}
	done := make(chan struct{})
	var ferr error // read only once done is closed
	go func() {
		defer close(done)
		ferr = call()
	}()
	select {
	case <-done:
		return nil, ferr
	case <-ctx.Done():
	}
	if grace > 0 && WaitFor(done, grace) {
		return nil, ferr
	}
	by := "by its context's end"
	if grace > 0 {
		by += fmt.Sprintf(" and %v more", grace)
	}
	return done, fmt.Errorf("did not return %s; it is left running: %w", by, ctx.Err())
}

// WaitFor waits for done to be closed, for d at most, and reports whether
// it was.
func WaitFor(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
