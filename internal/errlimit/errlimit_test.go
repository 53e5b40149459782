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

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTest(t *testing.T) (*Reporter, *clock, *[]error) {
	t.Helper()
	var got []error
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	r := New(func(err error) { got = append(got, err) }, time.Second)
	r.now = c.now
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
