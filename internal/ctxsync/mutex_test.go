package ctxsync

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestMutexExcludes(t *testing.T) {
	m := NewMutex()
	var wg sync.WaitGroup
	n := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if err := m.Lock(context.Background()); err != nil {
					t.Error(err)
					return
				}
				n++
				m.Unlock()
			}
		}()
	}
	wg.Wait()
	if n != 5000 {
		t.Fatalf("n = %d, want 5000", n)
	}
}

func TestMutexLockHonoursContext(t *testing.T) {
	m := NewMutex()
	if !m.TryLock() {
		t.Fatal("TryLock on a free mutex failed")
	}
	if m.TryLock() {
		t.Fatal("TryLock on a held mutex succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := m.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock on held mutex = %v, want DeadlineExceeded", err)
	}
	m.Unlock()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := m.Lock(canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a canceled ctx = %v, want Canceled even when free", err)
	}
}

// A waiter whose context ends must not swallow the wake-up another waiter
// needs.
func TestMutexNoLostWakeups(t *testing.T) {
	m := NewMutex()
	for range 200 {
		if err := m.Lock(context.Background()); err != nil {
			t.Fatal(err)
		}
		quitter, cancel := context.WithCancel(context.Background())
		gaveUp := make(chan error)
		go func() { gaveUp <- m.Lock(quitter) }()
		got := make(chan error)
		go func() { got <- m.Lock(context.Background()) }()
		cancel()
		m.Unlock()
		if err := <-gaveUp; err == nil {
			// The quitter won the lock before noticing its context.
			m.Unlock()
		}
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		m.Unlock()
	}
}

func TestLockAcceptingOnEndedContext(t *testing.T) {
	m := NewMutex()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.LockAccepting(ended); err != nil {
		t.Fatalf("a free lock refused on an ended context: %v", err)
	}
	// A brief holder is waited for.
	go func() { time.Sleep(time.Millisecond); m.Unlock() }()
	if err := m.LockAccepting(ended); err != nil {
		t.Fatalf("a lock released within the grace refused: %v", err)
	}
	// A holder that stays is not waited for past the grace.
	start := time.Now()
	if err := m.LockAccepting(ended); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the context's error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("waited %v on an ended context", d)
	}
	m.Unlock()
}
