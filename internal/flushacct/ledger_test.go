package flushacct

import (
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func TestTakeReportsOnceAndClears(t *testing.T) {
	var l Ledger
	if err := l.Take(); err != nil {
		t.Fatalf("empty ledger: %v", err)
	}
	l.Lost(3, syscall.ENOSPC)
	l.Lost(2, syscall.ENOSPC) // same cause, named once
	l.Lost(1, errors.New("refused"))
	err := l.Take()
	var le *LossError
	if !errors.As(err, &le) || le.Entries != 6 {
		t.Fatalf("Take = %v, want a LossError for 6 entries", err)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("%v does not unwrap to ENOSPC", err)
	}
	if c := strings.Count(err.Error(), "6 entries"); c != 1 {
		t.Fatalf("count stated %d times: %q", c, err)
	}
	if strings.Count(err.Error(), syscall.ENOSPC.Error()) != 1 {
		t.Fatalf("repeated cause named more than once: %q", err)
	}
	if err := l.Take(); err != nil {
		t.Fatalf("second Take = %v, want nil: a loss is reported exactly once", err)
	}
	if l.Total() != 6 {
		t.Fatalf("Total = %d, want 6", l.Total())
	}
}

func TestFailureWithoutLoss(t *testing.T) {
	var l Ledger
	l.Lost(0, errors.New("fsync failed"))
	err := l.Take()
	if err == nil || !strings.Contains(err.Error(), "fsync failed") {
		t.Fatalf("Take = %v", err)
	}
	if l.Total() != 0 {
		t.Fatalf("Total = %d", l.Total())
	}
}

func TestCausesBounded(t *testing.T) {
	var l Ledger
	for i := range 100 {
		l.Lost(1, errors.New(strings.Repeat("x", i+1)))
	}
	err := l.Take()
	if !strings.Contains(err.Error(), "and 97 more causes") {
		t.Fatalf("Take = %v", err)
	}
}

func TestConcurrentTakeReportsEachLossOnce(t *testing.T) {
	var l Ledger
	var wg sync.WaitGroup
	var mu sync.Mutex
	reported := 0
	for range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 1000 {
				l.Lost(1, errors.New("x"))
			}
		}()
		go func() {
			defer wg.Done()
			for range 1000 {
				var le *LossError
				if errors.As(l.Take(), &le) {
					mu.Lock()
					reported += le.Entries
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	var le *LossError
	if errors.As(l.Take(), &le) {
		reported += le.Entries
	}
	if reported != 4000 {
		t.Fatalf("reported %d losses, want 4000", reported)
	}
}
