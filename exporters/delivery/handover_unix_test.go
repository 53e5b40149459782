//go:build unix

package delivery

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"

	"github.com/fapilog/fapilog-otel/internal/spool"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

// shortSpoolRetry makes a sink waiting for its spool try the lock often,
// and remind the handler often that it waits.
func shortSpoolRetry(t *testing.T) {
	prevRetry, prevRemind := spoolRetry, spoolRemind
	spoolRetry, spoolRemind = time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { spoolRetry, spoolRemind = prevRetry, prevRemind })
}

// spoolReports counts what the error handler hears of a held spool.
func spoolReports(t *testing.T) func() int {
	var n atomic.Int32
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		if errors.Is(err, ErrSpoolInUse) {
			n.Add(1)
		}
	}))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	return func() int { return int(n.Load()) }
}

// holdSpoolLock takes dir's spool lock as another process's spool would.
// It waits for the lock: a sink stopped on an ended context may still be
// letting it go.
func holdSpoolLock(t *testing.T, dir string) func() {
	t.Helper()
	return testdest.HoldLock(t, filepath.Join(dir, "lock"))
}

// A rolling deploy: the new process starts while the old one still holds
// the spool. The new sink starts all the same, sends from memory, says
// why, and takes the spool once the old one lets it go: then it sends what
// the old one left, and spools what comes next.
func TestSpoolHeldByAnotherProcessAtStart(t *testing.T) {
	shortSpoolRetry(t)
	dir := t.TempDir()
	downSrv := newServer(t, func(int) int { return http.StatusServiceUnavailable })
	retry := Retry{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, MaxElapsedTime: time.Hour}
	old, err := NewSink("old", downSrv.srv.URL, layout{}, Options{Spool: Spool{Dir: dir}, Retry: retry})
	require.NoError(t, err)
	for _, e := range []string{"o1", "o2", "o3"} {
		require.NoError(t, old.Write(context.Background(), []byte(e)))
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, old.Stop(ended)) // its entries stay in the spool
	letGo := holdSpoolLock(t, dir)    // the old process, still flushing

	srv := newServer(t, nil)
	reports := spoolReports(t)
	s, err := NewSink("new", srv.srv.URL, layout{}, Options{Spool: Spool{Dir: dir}, Retry: retry})
	require.NoError(t, err, "a held spool does not fail the start")
	assert.Equal(t, 1, reports(), "said at once")
	assert.NoError(t, s.HealthCheck(context.Background()), "a rollout's normal state: no readiness probe may fail on it")
	_, ok := s.SpoolStats()
	assert.False(t, ok, "no spool of its own yet")
	for _, e := range []string{"n1", "n2"} {
		require.NoError(t, s.Write(context.Background(), []byte(e)))
	}
	require.NoError(t, s.Flush(context.Background()), "sent from memory meanwhile")
	assert.Equal(t, []string{"n1", "n2"}, lines(srv.entries()))

	letGo() // the old process exits
	require.Eventually(t, func() bool { _, ok := s.SpoolStats(); return ok }, 10*time.Second, time.Millisecond, "the spool is taken once let go")
	require.NoError(t, s.Write(context.Background(), []byte("n3")))
	st, _ := s.SpoolStats()
	assert.Positive(t, st.Bytes, "n3 went to the spool")
	require.NoError(t, s.Flush(context.Background()))
	assert.ElementsMatch(t, []string{"n1", "n2", "o1", "o2", "o3", "n3"}, lines(srv.entries()), "everything, once")
	assert.Zero(t, s.Lost())
	require.NoError(t, s.Stop(context.Background()))
	assert.NoError(t, s.Stop(context.Background()), "twice")
}

// A spool that stays held: the sink works from memory to the end, and Stop
// leaves no goroutine behind (TestMain's goleak), whether the tries ended
// on their own or not.
func TestSpoolHeldUntilStop(t *testing.T) {
	shortSpoolRetry(t)
	dir := t.TempDir()
	srv := newServer(t, nil)
	holdSpoolLock(t, dir)
	reports := spoolReports(t)

	s, err := NewSink("waiting", srv.srv.URL, layout{}, Options{Spool: Spool{Dir: dir}, Pending: Pending{MaxBytes: 64}})
	require.NoError(t, err)
	require.NoError(t, s.Write(context.Background(), []byte("kept")))
	require.NoError(t, s.Flush(context.Background()))
	big := make([]byte, 100)
	require.ErrorIs(t, s.Write(context.Background(), big), ErrDropped, "memory is bounded by Pending meanwhile")
	assert.EqualValues(t, 1, s.Lost())
	require.Eventually(t, func() bool { return reports() >= 3 }, 10*time.Second, time.Millisecond, "a holder that does not let go is said again")
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _ = s.Stop(ended) })
	}
	wg.Wait()
	select {
	case <-s.wait.done: // so nothing is said after Stop
	default:
		t.Fatal("the goroutine trying the lock outlived Stop")
	}
	assert.Equal(t, []string{"kept"}, lines(srv.entries()))
}

func lines(es [][]byte) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e)
	}
	return out
}

// Two exporters of one process given one directory: a mistake no wait
// settles, so the second fails at once, naming it.
func TestSpoolDirTwiceInOneProcess(t *testing.T) {
	dir := t.TempDir()
	srv := newServer(t, nil)
	first, err := NewSink("first", srv.srv.URL, layout{}, Options{Spool: Spool{Dir: dir}})
	require.NoError(t, err)
	_, err = NewSink("second", srv.srv.URL, layout{}, Options{Spool: Spool{Dir: dir}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "one spool directory per exporter")
	assert.NotErrorIs(t, err, ErrSpoolInUse)
	require.NoError(t, first.Stop(context.Background()))
	second, err := NewSink("second", srv.srv.URL, layout{}, Options{Spool: Spool{Dir: dir}})
	require.NoError(t, err, "free once the first stopped")
	require.NoError(t, second.Stop(context.Background()))
}

// A configuration reload: the old sink's Stop returned on its context
// while its spool was still closing (a stalled disk), and a new sink is
// made on the same directory. That is no mistake: the new sink waits for
// the old one as for another process, and takes the spool once it is let
// go. (The old sink's closing spool is played by a spool opened here and
// marked closing, as the engine marks its own when it begins to close.)
func TestSpoolOfStoppingSinkIsWaitedFor(t *testing.T) {
	shortSpoolRetry(t)
	dir := t.TempDir()
	closing, _, err := spool.Open(spool.Config{Dir: dir})
	require.NoError(t, err)
	closing.Closing()

	srv := newServer(t, nil)
	reports := spoolReports(t)
	s, err := NewSink("rebuilt", srv.srv.URL, layout{}, Options{Spool: Spool{Dir: dir}})
	require.NoError(t, err, "a spool still closing here is a wait, not a mistake")
	assert.Equal(t, 1, reports())
	require.NoError(t, s.Write(context.Background(), []byte("m1")))
	require.NoError(t, s.Flush(context.Background()), "sent from memory meanwhile")

	require.NoError(t, closing.Close()) // the old sink's closing ends
	require.Eventually(t, func() bool { _, ok := s.SpoolStats(); return ok }, 10*time.Second, time.Millisecond, "the spool is taken once let go")
	require.NoError(t, s.Write(context.Background(), []byte("s1")))
	require.NoError(t, s.Flush(context.Background()))
	assert.Equal(t, []string{"m1", "s1"}, lines(srv.entries()))
	require.NoError(t, s.Stop(context.Background()))
}
