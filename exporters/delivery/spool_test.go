package delivery

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// keyServer is a server that records each request's batch key.
type keyServer struct {
	*server
	mu   sync.Mutex
	keys []string
}

func newKeyServer(t *testing.T, status func(int) int) *keyServer {
	k := &keyServer{}
	k.server = newServer(t, func(n int) int {
		if status != nil {
			return status(n)
		}
		return http.StatusOK
	})
	inner := k.srv.Config.Handler
	k.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.keys = append(k.keys, r.Header.Get("X-Batch"))
		k.mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	return k
}

// A sink stopped while its receiver is down leaves its entries in the
// spool; a new sink on the same directory delivers them first, and every
// batch sent before is sent again under the key it had.
func TestSpoolAcrossSinks(t *testing.T) {
	dir := t.TempDir()
	var up sync.Mutex
	down := true
	srv := newKeyServer(t, func(int) int {
		up.Lock()
		defer up.Unlock()
		if down {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	o := Options{Spool: Spool{Dir: dir}, Batch: Batch{MaxEntries: 3}, Retry: Retry{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, MaxElapsedTime: time.Hour}}
	s, err := NewSink("spooled", srv.srv.URL, layout{}, o)
	require.NoError(t, err)
	firstWrite := time.Now()
	for i := range 7 {
		require.NoError(t, s.Write(context.Background(), []byte{'a' + byte(i)}))
	}
	require.Eventually(t, func() bool { return srv.requests() >= 3 }, 10*time.Second, time.Millisecond)
	st, ok := s.SpoolStats()
	require.True(t, ok)
	assert.Positive(t, st.Bytes)
	assert.False(t, st.Oldest.Before(firstWrite.Truncate(time.Microsecond)), "oldest %v, first write %v", st.Oldest, firstWrite)
	assert.False(t, st.Oldest.After(time.Now()))
	err = s.HealthCheck(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spool:")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.Error(t, s.Stop(ctx))
	assert.Zero(t, s.Lost(), "left in the spool, not lost")
	srv.mu.Lock()
	tried := map[string]bool{}
	for _, k := range srv.keys {
		tried[k] = true
	}
	phase1 := len(srv.keys)
	srv.mu.Unlock()

	up.Lock()
	down = false
	up.Unlock()
	s, err = NewSink("spooled", srv.srv.URL, layout{}, o)
	require.NoError(t, err)
	require.NoError(t, s.Flush(context.Background()))
	st, _ = s.SpoolStats()
	assert.True(t, st.Oldest.IsZero(), "everything delivered by the flush")
	got := srv.entries()
	require.Len(t, got, 7)
	for i, e := range got {
		assert.Equal(t, string([]byte{'a' + byte(i)}), string(e), "in order, once")
	}
	srv.mu.Lock()
	for k := range tried {
		assert.Contains(t, srv.keys[phase1:], k, "a batch tried before is sent again under its key")
	}
	srv.mu.Unlock()
	require.NoError(t, s.Stop(context.Background()))
	s, err = NewSink("spooled", srv.srv.URL, layout{}, o)
	require.NoError(t, err)
	st, _ = s.SpoolStats()
	assert.True(t, st.Oldest.IsZero(), "nothing left after delivery")
	require.NoError(t, s.Stop(context.Background()))
}

func TestSpoolGauges(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(mp)
	t.Cleanup(func() { otel.SetMeterProvider(prev); _ = mp.Shutdown(context.Background()) })

	srv := newServer(t, nil)
	s, err := NewSink("gauged", srv.srv.URL, layout{}, Options{Spool: Spool{Dir: t.TempDir()}})
	require.NoError(t, err)
	require.NoError(t, s.Write(context.Background(), []byte("x")))
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	names := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names[m.Name] = true
			if m.Name == "fapilog.spool.size" {
				g := m.Data.(metricdata.Gauge[int64])
				require.Len(t, g.DataPoints, 1)
				assert.Positive(t, g.DataPoints[0].Value)
			}
		}
	}
	assert.True(t, names["fapilog.spool.size"] && names["fapilog.spool.segments"] && names["fapilog.spool.oldest_age"], "%v", names)
	require.NoError(t, s.Stop(context.Background()))
	rm = metricdata.ResourceMetrics{}
	require.NoError(t, reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if g, ok := m.Data.(metricdata.Gauge[int64]); ok {
				assert.Empty(t, g.DataPoints, "%s: nothing after Stop", m.Name)
			}
		}
	}
}
