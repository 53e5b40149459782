package httpexporter

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
)

// The receiver fails in every way at once while a real provider logs and
// flushes: 503s, 429 with Retry-After, 400s that must not be retried, and
// dropped connections. Every entry is either delivered once or counted as
// lost; delivered + lost = emitted.
func TestFaultAccountingThroughProvider(t *testing.T) {
	r := newReceiver(t)
	r.reset = func(n int) bool { return n%11 == 5 }
	r.respond = func(n int, w http.ResponseWriter) int {
		switch n % 7 {
		case 1:
			return http.StatusServiceUnavailable
		case 3:
			w.Header().Set("Retry-After", "0")
			return http.StatusTooManyRequests
		case 6:
			return http.StatusBadRequest // not retried: its batch is lost, and counted
		}
		return http.StatusOK
	}
	s := newTestSink(t, r, delivery.Options{Batch: delivery.Batch{MaxEntries: 20, MaxAge: 5 * time.Millisecond}, Concurrency: 2})
	exp, err := bridge.NewExporter(s)
	require.NoError(t, err)
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp, sdklog.WithMaxQueueSize(1<<14))))
	logger := otelslog.NewLogger("faults", otelslog.WithLoggerProvider(provider))
	var emitted atomic.Int64
	for range 10 {
		for range 100 {
			logger.Info("record", "seq", emitted.Add(1))
		}
		_ = provider.ForceFlush(context.Background()) // reports the 400s
	}
	require.NoError(t, provider.Shutdown(context.Background()))

	seen := map[int]int{}
	for _, e := range r.entries() {
		var line struct {
			Log struct{ Data struct{ Seq int } } `json:"log"`
		}
		require.NoError(t, json.Unmarshal(e, &line))
		seen[line.Log.Data.Seq]++
	}
	for seq, n := range seen {
		require.Equal(t, 1, n, "entry %d delivered %d times", seq, n)
	}
	t.Logf("emitted %d, delivered %d, counted lost %d, %d requests", emitted.Load(), len(seen), s.Lost(), r.count())
	assert.Equal(t, emitted.Load(), int64(len(seen))+s.Lost(), "delivered + lost = emitted")
	assert.Positive(t, s.Lost(), "the 400s lost their batches, and said so")
}
