//go:build !race

// Allocation tests: the race detector allocates and randomises sync.Pool,
// so they are built only without it (.ci/run runs them so).

package processor

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/log/logtest"
)

// OnEmit copies the record without allocating when its attributes fit the
// SDK's inline array, and with one allocation above it.
func TestBatchOnEmitDoesNotAllocate(t *testing.T) {
	b := NewBatch(&recExporter{}, WithMaxQueueSize(1<<16), WithMaxExportBatchSize(1<<16), WithExportInterval(time.Hour))
	defer func() { _ = b.Shutdown(context.Background()) }()
	small := logtest.RecordFactory{Attributes: []attribute.KeyValue{
		attribute.Int("a", 1), attribute.Int("b", 2), attribute.Int("c", 3), attribute.Int("d", 4), attribute.Int("e", 5)}}.NewRecord()
	big := logtest.RecordFactory{Attributes: []attribute.KeyValue{
		attribute.Int("a", 1), attribute.Int("b", 2), attribute.Int("c", 3), attribute.Int("d", 4), attribute.Int("e", 5),
		attribute.Int("f", 6), attribute.Int("g", 7), attribute.Int("h", 8), attribute.Int("i", 9), attribute.Int("j", 10)}}.NewRecord()
	_ = b.OnEmit(context.Background(), &small) // starts the goroutine
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = b.OnEmit(context.Background(), &small) }))
	assert.LessOrEqual(t, testing.AllocsPerRun(1000, func() { _ = b.OnEmit(context.Background(), &big) }), 1.0)
}

// Dropping a record (the overload path) allocates nothing either.
func TestBatchDropDoesNotAllocate(t *testing.T) {
	gate := make(chan struct{})
	b := NewBatch(&recExporter{gate: gate}, WithMaxQueueSize(4), WithMaxExportBatchSize(4),
		WithQueueFullPolicy(QueueFullDropNewest), WithBatchErrorHandler(func(error) {}))
	defer func() {
		close(gate) // the exporter first, or Shutdown waits for it
		_ = b.Shutdown(context.Background())
	}()
	r := logtest.RecordFactory{Attributes: []attribute.KeyValue{attribute.Int("a", 1)}}.NewRecord()
	for range 8 { // fill the queue and the batch in flight
		_ = b.OnEmit(context.Background(), &r)
	}
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = b.OnEmit(context.Background(), &r) }))
	assert.Positive(t, b.Dropped())
}

// A batch size far above what is logged (a setting read in the millions)
// costs memory as records arrive, not up front: the first record does not
// allocate room for a million.
func TestBatchHugeBatchSizeAllocatesAsUsed(t *testing.T) {
	const huge = 1 << 22 // records; room for them all would be gigabytes
	b := NewBatch(&recExporter{}, WithMaxQueueSize(huge), WithMaxExportBatchSize(huge), WithExportInterval(time.Hour))
	r := logtest.RecordFactory{Attributes: []attribute.KeyValue{attribute.Int("a", 1)}}.NewRecord()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		require.NoError(t, b.OnEmit(context.Background(), &r))
	}
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "bytes allocated for 10 records")
	require.NoError(t, b.ForceFlush(context.Background()))
	require.NoError(t, b.Shutdown(context.Background()))
}
