package errlimit

import (
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a fake clock with fake timers: fire runs the timers that are
// due, on the test's goroutine.
type clock struct {
	t      time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (ft *fakeTimer) Stop() bool { was := !ft.stopped; ft.stopped = true; return was }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func (c *clock) after(d time.Duration, f func()) stopper {
	ft := &fakeTimer{at: c.t.Add(d), f: f}
	c.timers = append(c.timers, ft)
	return ft
}

// pending counts the timers neither stopped nor fired.
func (c *clock) pending() int {
	n := 0
	for _, ft := range c.timers {
		if !ft.stopped {
			n++
		}
	}
	return n
}

func (c *clock) fire() {
	for _, ft := range c.timers {
		if !ft.stopped && !ft.at.After(c.t) {
			ft.stopped = true
			ft.f()
		}
	}
}

func newTest(t *testing.T) (*Reporter, *clock, *[]error) {
	t.Helper()
	var got []error
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	r := New(func(err error) { got = append(got, err) }, time.Second)
	r.now, r.after = c.now, c.after
	return r, c, &got
}

func TestFirstFailurePassesAtOnce(t *testing.T) {
	r, _, got := newTest(t)
	r.Report(syscall.ENOSPC)
	require.Len(t, *got, 1)
	assert.ErrorIs(t, (*got)[0], syscall.ENOSPC)
	assert.NotErrorIs(t, (*got)[0], ErrHeld, "nothing was held")
}

func TestFailuresWithinIntervalAreHeldAndCounted(t *testing.T) {
	r, c, got := newTest(t)
	r.Report(syscall.ENOSPC)
	for range 999 {
		c.advance(time.Millisecond / 2)
		r.Report(syscall.EIO)
	}
	require.Len(t, *got, 1, "999 failures within the second are held")

	c.advance(time.Second)
	r.Report(syscall.EPIPE)
	require.Len(t, *got, 2)
	last := (*got)[1]
	assert.ErrorIs(t, last, syscall.EPIPE, "the report is the new failure")
	assert.ErrorIs(t, last, ErrHeld)
	assert.Contains(t, last.Error(), "999 earlier failures")
}

func TestReleaseReportsHeldFailuresAfterInterval(t *testing.T) {
	r, c, got := newTest(t)
	r.Report(syscall.ENOSPC)
	r.Report(syscall.EIO)
	r.Report(syscall.EIO)
	r.Release()
	require.Len(t, *got, 1, "within the interval a success releases nothing")

	c.advance(time.Second)
	r.Report(nil) // a success
	require.Len(t, *got, 2)
	assert.ErrorIs(t, (*got)[1], ErrHeld)
	assert.ErrorIs(t, (*got)[1], syscall.EIO, "the latest held failure")
	assert.Contains(t, (*got)[1].Error(), "2 failures")

	c.advance(time.Hour)
	r.Release()
	assert.Len(t, *got, 2, "nothing held: nothing to report")
}

// A burst of failures and then nothing at all (the writes stopped with the
// fault): the timer reports what is held one interval after the first.
func TestTimerReportsHeldFailures(t *testing.T) {
	r, c, got := newTest(t)
	r.Report(syscall.ENOSPC)
	assert.Zero(t, c.pending(), "nothing held: no timer")
	c.advance(300 * time.Millisecond)
	r.Report(syscall.EIO)
	r.Report(syscall.EIO)
	require.Equal(t, 1, c.pending(), "one timer however many are held")
	require.Len(t, *got, 1)

	c.advance(699 * time.Millisecond)
	c.fire()
	require.Len(t, *got, 1, "not due before the interval since the first report")
	c.advance(time.Millisecond)
	c.fire()
	require.Len(t, *got, 2)
	assert.ErrorIs(t, (*got)[1], ErrHeld)
	assert.ErrorIs(t, (*got)[1], syscall.EIO)
	assert.Contains(t, (*got)[1].Error(), "2 failures")

	r.Close()
	assert.Len(t, *got, 2, "the timer left nothing for Close")
}

// Whatever reports the held failures first stops the timer, and a timer
// that comes early goes again rather than leaving them held.
func TestTimerStoppedWhenNotNeeded(t *testing.T) {
	r, c, got := newTest(t)
	r.Report(syscall.ENOSPC)
	r.Report(syscall.EIO)
	require.Equal(t, 1, c.pending())
	c.advance(time.Second)
	r.Report(syscall.EPIPE) // goes out at once, with the held one
	assert.Zero(t, c.pending(), "the report took the held failure: timer stopped")
	require.Len(t, *got, 2)

	r.Report(syscall.EIO)
	require.Equal(t, 1, c.pending())
	r.Close()
	assert.Zero(t, c.pending(), "Close stops the timer")
	require.Len(t, *got, 3)

	r.Report(syscall.EIO) // held: within the interval of Close's report
	c.advance(time.Second / 2)
	r.timed() // early, as a timer may seem to a clock that was set back
	assert.Len(t, *got, 3)
	require.Equal(t, 2, c.pending(), "the early timer scheduled another")
	c.advance(time.Second / 2)
	c.fire()
	assert.Len(t, *got, 4)
}

// With the real clock and timers, held failures arrive on their own.
func TestTimerWithRealClock(t *testing.T) {
	got := make(chan error, 2)
	r := New(func(err error) { got <- err }, 10*time.Millisecond)
	r.Report(syscall.ENOSPC)
	r.Report(syscall.EIO)
	<-got
	select {
	case err := <-got:
		assert.ErrorIs(t, err, ErrHeld)
		assert.ErrorIs(t, err, syscall.EIO)
	case <-time.After(10 * time.Second):
		t.Fatal("the held failure was never reported")
	}
	r.Close()
}

func TestCloseReportsWhatIsHeld(t *testing.T) {
	r, _, got := newTest(t)
	r.Close()
	assert.Empty(t, *got)
	r.Report(syscall.ENOSPC)
	r.Report(syscall.ENOSPC)
	r.Close()
	require.Len(t, *got, 2)
	assert.ErrorIs(t, (*got)[1], ErrHeld)
	r.Close()
	assert.Len(t, *got, 2, "a second Close has nothing left")
}

// The handler runs without the lock: a handler that reports again (it logs
// through the failing sink) must not deadlock.
func TestHandlerMayReportAgain(t *testing.T) {
	var r *Reporter
	calls := 0
	r = New(func(err error) {
		calls++
		if calls < 3 {
			r.Report(errors.New("again"))
		}
	}, time.Hour)
	r.Report(errors.New("first"))
	r.Close()
	assert.Equal(t, 2, calls, "the nested report is held, then closed out")
}

func TestConcurrentReports(t *testing.T) {
	var mu sync.Mutex
	reported := 0
	r := New(func(err error) { mu.Lock(); reported++; mu.Unlock() }, time.Hour)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				r.Report(syscall.EIO)
				r.Release()
			}
		})
	}
	wg.Wait()
	r.Close()
	assert.Equal(t, 2, reported, "one at once, one at Close for the other 7,999")
}

func TestNilHandler(t *testing.T) {
	r := New(nil, time.Second)
	r.Report(syscall.EIO)
	r.Report(syscall.EIO)
	r.Close()
}
