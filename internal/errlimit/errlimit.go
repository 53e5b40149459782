// Package errlimit keeps a destination that fails on every write from
// flooding the error handler.
//
// A full disk or a closed pipe fails every write, and a sink writes as
// often as it exports: reporting each failure would hand the error handler
// (by default otel.Handle, which logs to stderr) thousands of lines a
// second, about a fault it already knows. A Reporter passes the first
// failure on at once and holds the ones that follow within the interval,
// counted; the next report after the interval says how many were held and
// gives the latest, and when no failure or success comes to carry it, a
// timer does, one interval after the report before. Nothing is hidden from a flush: the sinks record every
// failure in their flush ledger as well, and that is not limited.
package errlimit

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrHeld is wrapped by a report that stands for failures held back.
var ErrHeld = errors.New("failures held back")

// Reporter is safe for concurrent use. It never calls the handler with its
// lock held, so a handler may log through the sink that reports.
type Reporter struct {
	handle func(error)
	every  time.Duration
	now    func() time.Time
	after  func(time.Duration, func()) stopper // time.AfterFunc; a seam for tests

	mu     sync.Mutex
	last   time.Time // when a report last went out; zero before the first
	held   int       // failures since then that were not passed on
	latest error     // the latest of them
	timer  stopper   // set while failures are held: it reports them when due
}

// stopper is what the Reporter needs of a *time.Timer.
type stopper interface{ Stop() bool }

func afterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }

// New returns a Reporter that passes failures to handle, at most one report
// per interval. A nil handle discards them.
func New(handle func(error), every time.Duration) *Reporter {
	if handle == nil {
		handle = func(error) {}
	}
	return &Reporter{handle: handle, every: every, now: time.Now, after: afterFunc}
}

// Report passes err on at once when no report went out within the
// interval, together with the failures held until then; otherwise it holds
// err, counted, for a later report. A nil err is a success: see Release.
func (r *Reporter) Report(err error) {
	if err == nil {
		r.Release()
		return
	}
	r.mu.Lock()
	now := r.now()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.held++
		r.latest = err
		if r.timer == nil {
			// Without it a burst of failures followed by silence (the
			// sink's writes stopped with the fault) would be held until
			// the sink stops.
			r.timer = r.after(r.every-now.Sub(r.last), r.timed)
		}
		r.mu.Unlock()
		return
	}
	held := r.held
	r.held, r.latest, r.last = 0, nil, now
	r.stopTimerLocked()
	r.mu.Unlock()
	if held > 0 {
		err = fmt.Errorf("%w (and %d earlier failures since the previous report: %w)", err, held, ErrHeld)
	}
	r.handle(err)
}

// Release reports the held failures once the interval has passed, so that
// a fault that has cleared is still reported whole at the next success
// rather than at the timer.
func (r *Reporter) Release() { r.flush(false) }

// Close reports the held failures, whatever the interval, and stops the
// timer: a sink calls it when it stops, so that nothing held goes
// unreported and nothing is reported later for what came before.
func (r *Reporter) Close() { r.flush(true) }

func (r *Reporter) flush(force bool) {
	r.mu.Lock()
	if force {
		r.stopTimerLocked()
	}
	if r.held == 0 {
		r.mu.Unlock()
		return
	}
	if wait := r.every - r.now().Sub(r.last); !force && wait > 0 {
		if r.timer == nil { // the timer came early: it goes again
			r.timer = r.after(wait, r.timed)
		}
		r.mu.Unlock()
		return
	}
	held, latest := r.held, r.latest
	r.held, r.latest, r.last = 0, nil, r.now()
	r.stopTimerLocked()
	r.mu.Unlock()
	r.handle(fmt.Errorf("%w: %d failures since the previous report (at most one per %v); the latest: %w", ErrHeld, held, r.every, latest))
}

// timed is the timer's: it reports what is held once the interval is over.
func (r *Reporter) timed() {
	r.mu.Lock()
	r.timer = nil
	r.mu.Unlock()
	r.flush(false)
}

// stopTimerLocked stops the timer once nothing held is left for it, or at
// Close. A timer that has already fired finds nothing held and reports
// nothing.
func (r *Reporter) stopTimerLocked() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}
