package flushacct_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fapilog/fapilog-otel/internal/flushacct"
)

// Losses are recorded as they happen and reported by exactly one later
// flush.
func ExampleLedger() {
	var l flushacct.Ledger
	l.Lost(3, errors.New("queue full"))
	l.Lost(2, errors.New("queue full"))
	fmt.Println(l.Take() != nil, l.Total())
	fmt.Println(l.Take())
	// Output:
	// true 5
	// <nil>
}

// A flush waits, under its owner's lock, for what was pending at its call,
// and gives up when its context ends.
func ExampleCond() {
	var (
		mu      sync.Mutex
		cond    flushacct.Cond
		written int
	)
	go func() {
		mu.Lock()
		written = 10 // the writer's goroutine catches up
		cond.Broadcast()
		mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mu.Lock()
	err := cond.Wait(ctx, &mu, func() bool { return written >= 10 })
	mu.Unlock()
	fmt.Println(err)

	ended, stop := context.WithCancel(context.Background())
	stop()
	mu.Lock()
	err = cond.Wait(ended, &mu, func() bool { return written >= 20 })
	mu.Unlock()
	fmt.Println(errors.Is(err, context.Canceled))
	// Output:
	// <nil>
	// true
}
