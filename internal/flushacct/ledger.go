// Package flushacct is the flush promise's bookkeeping, shared by the line
// writer, the delivery engine and the batch processor, so the promise is
// implemented once:
//
//   - Ledger: entries that were accepted (or offered) and did not reach the
//     destination are recorded as they are lost, and the next flush to
//     complete reports them, exactly once. A flush that returns nil
//     therefore never hides an earlier loss, whether the entry was refused
//     at the bound, given up on after retries, or lost in a failed write.
//   - Cond: a flush waits for what was pending at its call (a writer, for
//     room) under its owner's lock, and gives up when its context ends.
package flushacct

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// maxCauses bounds the distinct causes one report names.
const maxCauses = 3

// Ledger records losses and failures until a flush takes them. The zero
// value is ready to use; it is safe for concurrent use.
type Ledger struct {
	total atomic.Int64 // entries lost since creation, for LossReporter

	mu     sync.Mutex
	n      int     // entries lost since the last Take
	causes []error // up to maxCauses distinct causes since the last Take
	more   int     // causes beyond maxCauses
}

// Lost records that n entries did not reach the destination because of
// cause. n may be 0 for a failure that lost no entry but must still fail
// the next flush (an fsync error). cause should not repeat the count: the
// report states it once.
func (l *Ledger) Lost(n int, cause error) {
	if n > 0 {
		l.total.Add(int64(n))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n += n
	if cause == nil {
		return
	}
	for _, c := range l.causes {
		if c == cause || c.Error() == cause.Error() {
			return
		}
	}
	if len(l.causes) < maxCauses {
		l.causes = append(l.causes, cause)
	} else {
		l.more++
	}
}

// Take returns an error describing everything recorded since the previous
// Take, or nil when nothing was, and clears it.
func (l *Ledger) Take() error {
	l.mu.Lock()
	n, causes, more := l.n, l.causes, l.more
	l.n, l.causes, l.more = 0, nil, 0
	l.mu.Unlock()
	if n == 0 && len(causes) == 0 {
		return nil
	}
	return &LossError{Entries: n, causes: causes, more: more}
}

// Total returns how many entries were recorded lost since the Ledger was
// created, whether or not a flush has reported them yet.
func (l *Ledger) Total() int64 { return l.total.Load() }

// LossError is what a flush returns when entries were lost or a write
// failed since the previous flush. It unwraps to its causes, so errors.Is
// finds, for example, syscall.ENOSPC or context.DeadlineExceeded.
type LossError struct {
	Entries int // entries lost; 0 when only a sync or close failed
	causes  []error
	more    int
}

func (e *LossError) Error() string {
	var s string
	if e.Entries > 0 {
		s = fmt.Sprintf("%d entries lost since the previous flush", e.Entries)
	} else {
		s = "failure since the previous flush"
	}
	for i, c := range e.causes {
		if i == 0 {
			s += ": "
		} else {
			s += "; "
		}
		s += c.Error()
	}
	if e.more > 0 {
		s += fmt.Sprintf(" (and %d more causes)", e.more)
	}
	return s
}

func (e *LossError) Unwrap() []error { return e.causes }
