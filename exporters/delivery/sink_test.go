package delivery

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/bridge/sinktest"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// layout is the smallest Request: entries joined by newlines, the batch id
// in a header.
type layout struct{}

func (layout) Encode(dst []byte, h http.Header, key string, entries [][]byte) ([]byte, error) {
	h.Set("X-Batch", key)
	for _, e := range entries {
		dst = append(dst, e...)
		dst = append(dst, '\n')
	}
	return dst, nil
}

// server records accepted lines and answers with status(n) for the n-th
// request (from 0).
type server struct {
	srv    *httptest.Server
	mu     sync.Mutex
	n      int
	lines  [][]byte
	status func(n int) int
	gate   testdest.Gate
}

func newServer(t *testing.T, status func(int) int) *server {
	s := &server{status: status}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := s.n
		s.n++
		s.mu.Unlock()
		if s.gate.Wait(r.Context()) != nil {
			return
		}
		code := http.StatusOK
		if s.status != nil {
			code = s.status(n)
		}
		if code/100 == 2 {
			s.mu.Lock()
			for _, l := range strings.SplitAfter(string(body), "\n") {
				if l != "" {
					s.lines = append(s.lines, []byte(strings.TrimSuffix(l, "\n")))
				}
			}
			s.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(func() { s.gate.Open(); s.srv.Close() })
	return s
}

func (s *server) entries() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.lines...)
}

func (s *server) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

var quick = Retry{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsedTime: 100 * time.Millisecond}

// Any Request gets the whole sink contract: the kit drives a sink with the
// test's own layout.
func TestConformanceWithACustomRequest(t *testing.T) {
	for _, spooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("spool=%v", spooled), func(t *testing.T) { conformance(t, spooled) })
	}
}

// conformance runs the sink kit, in memory or with a spool: the lifecycle
// (ended contexts, twice, concurrently) holds either way.
func conformance(t *testing.T, spooled bool) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		var failing atomic.Bool
		srv := newServer(t, func(int) int {
			if failing.Load() {
				return http.StatusBadRequest
			}
			return http.StatusOK
		})
		o := Options{Retry: quick, Batch: Batch{MaxEntries: 64}}
		if spooled {
			o.Spool = Spool{Dir: t.TempDir()}
		}
		s, err := NewSink("custom", srv.srv.URL, layout{}, o)
		require.NoError(t, err)
		return sinktest.Harness{
			Sink:      s,
			Delivered: srv.entries,
			Stall:     srv.gate.Stall,
			Fail: func() func() {
				failing.Store(true)
				return func() { failing.Store(false) }
			},
		}
	})
}

// 410 Gone disables the sink whatever the Request and whatever
// RetryableStatuses says: nothing more is sent, and every later entry
// fails the flush as lost.
func TestGoneDisablesTheSink(t *testing.T) {
	srv := newServer(t, func(int) int { return http.StatusGone })
	s, err := NewSink("custom", srv.srv.URL, layout{}, Options{Retry: quick, RetryableStatuses: []int{410}})
	require.NoError(t, err)
	require.NoError(t, s.Write(context.Background(), []byte("a")))
	err = s.Flush(context.Background())
	require.ErrorIs(t, err, ErrGone)
	assert.ErrorIs(t, s.HealthCheck(context.Background()), ErrGone)
	require.NoError(t, s.Write(context.Background(), []byte("b")))
	assert.ErrorIs(t, s.Flush(context.Background()), ErrGone)
	assert.Equal(t, 1, srv.requests(), "one 410, never retried, nothing sent after it")
	assert.EqualValues(t, 2, s.Lost())
	require.NoError(t, s.Stop(context.Background()))
}

func TestRetryDisabled(t *testing.T) {
	srv := newServer(t, func(int) int { return http.StatusServiceUnavailable })
	s, err := NewSink("custom", srv.srv.URL, layout{}, Options{Retry: Retry{Disabled: true}})
	require.NoError(t, err)
	require.NoError(t, s.Write(context.Background(), []byte("a")))
	err = s.Flush(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 entries lost")
	assert.Equal(t, 1, srv.requests(), "a 503 is sent once when retries are off")
	require.NoError(t, s.Stop(context.Background()))
}

// The default retries a 503 and delivers on the next attempt.
func TestRetryDefaultRetries503(t *testing.T) {
	srv := newServer(t, func(n int) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	s, err := NewSink("custom", srv.srv.URL, layout{}, Options{Retry: quick})
	require.NoError(t, err)
	require.NoError(t, s.Write(context.Background(), []byte("a")))
	require.NoError(t, s.Flush(context.Background()))
	assert.Equal(t, 2, srv.requests())
	assert.Equal(t, [][]byte{[]byte("a")}, srv.entries())
	assert.Zero(t, s.PendingBytes())
	require.NoError(t, s.Stop(context.Background()))
}

// Pending bounds memory: with the default overflow the newest entry is
// refused, wrapped as ErrDropped.
func TestPendingBound(t *testing.T) {
	srv := newServer(t, nil)
	resume := srv.gate.Stall()
	s, err := NewSink("custom", srv.srv.URL, layout{}, Options{Retry: quick, Batch: Batch{MaxEntries: 1, MaxBytes: 10}, Pending: Pending{MaxBytes: 20}})
	require.NoError(t, err)
	var refused int
	for range 10 {
		if err := s.Write(context.Background(), []byte("0123456789")); err != nil {
			assert.ErrorIs(t, err, ErrDropped)
			refused++
		}
	}
	assert.LessOrEqual(t, s.PendingBytes(), 20)
	assert.Equal(t, 8, refused, "two 10-byte entries fit in 20 bytes")
	resume()
	err = s.Flush(context.Background())
	assert.ErrorIs(t, err, ErrDropped, "the flush after the drops reports them")
	require.NoError(t, s.Stop(context.Background()))
}

var (
	_ bridge.Sink          = (*Sink)(nil)
	_ bridge.BatchWriter   = (*Sink)(nil)
	_ bridge.Flusher       = (*Sink)(nil)
	_ bridge.Stopper       = (*Sink)(nil)
	_ bridge.HealthChecker = (*Sink)(nil)
	_ bridge.LossReporter  = (*Sink)(nil)
)

// WriteBatch takes what fits and counts what does not, entry by entry.
func TestWriteBatchAtTheBound(t *testing.T) {
	srv := newServer(t, nil)
	resume := srv.gate.Stall()
	s, err := NewSink("custom", srv.srv.URL, layout{}, Options{Retry: quick, Batch: Batch{MaxEntries: 1, MaxBytes: 10}, Pending: Pending{MaxBytes: 20}})
	require.NoError(t, err)
	big, small := []byte("0123456789"), []byte("x")
	failed, err := s.WriteBatch(context.Background(), [][]byte{big, big, big, small})
	assert.ErrorIs(t, err, ErrDropped)
	assert.Equal(t, 2, failed, "the third big one and the small one do not fit")
	resume()
	assert.ErrorIs(t, s.Flush(context.Background()), ErrDropped)
	assert.EqualValues(t, 2, s.Lost())
	require.NoError(t, s.Stop(context.Background()))
}
