package onceerr

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFirstResultForEveryCall(t *testing.T) {
	var o Once
	var runs atomic.Int32
	boom := errors.New("boom")
	release := make(chan struct{})
	f := func() error { runs.Add(1); <-release; return boom }
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- o.Do(context.Background(), "x", f) }()
	}
	// A caller whose context ends while the first still runs gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond) // wait for the first call to start: no event to wait on
	}
	if err := o.Do(ctx, "stop", f); !errors.Is(err, context.DeadlineExceeded) || err.Error() != "stop: waiting for a concurrent call: context deadline exceeded" {
		t.Fatalf("waiting caller = %v", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != boom {
			t.Fatalf("a caller got %v, want the first call's error", err)
		}
	}
	if err := o.Do(context.Background(), "x", f); err != boom {
		t.Fatalf("a later call got %v", err)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("f ran %d times", n)
	}
	// An already-ended context still gets a result that is ready.
	ended, stop := context.WithCancel(context.Background())
	stop()
	if err := o.Do(ended, "x", f); err != boom {
		t.Fatalf("ended context after completion = %v", err)
	}
}
