package processor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// limitExporter refuses, with a plain error as otlploghttp returns for a
// 413, every batch whose bodies add up to more than limit bytes, and keeps
// the records it takes.
type limitExporter struct {
	mu      sync.Mutex
	limit   int
	refused int
	got     []sdklog.Record
}

func (e *limitExporter) Export(_ context.Context, recs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	size := 0
	for i := range recs {
		size += len(recs[i].Body().AsString())
	}
	if size > e.limit {
		e.refused++
		return errors.New("failed to send logs: 413 Request Entity Too Large")
	}
	for i := range recs {
		e.got = append(e.got, recs[i].Clone())
	}
	return nil
}

func (e *limitExporter) ForceFlush(context.Context) error { return nil }
func (e *limitExporter) Shutdown(context.Context) error   { return nil }

// A record too large for the receiver, which refuses it with an error that
// does not say why, does not hold the queue for the 5-minute retry budget
// at default settings: isolated by halving, it is cut to 1 MiB after its
// third failure alone, marked, and delivered; every record arrives, in
// order. A record under the limit is never cut.
func TestBatchCutsALoneRecordTooLargeForTheReceiver(t *testing.T) {
	exp := &limitExporter{limit: 1 << 20}
	reports := &reportLog{}
	b := NewBatch(exp, WithBatchErrorHandler(reports.handle))
	big := strings.Repeat("x", 3<<20)
	for i := range 20 {
		body := "small"
		if i == 7 {
			body = big
		}
		r := logtest.RecordFactory{Body: attribute.StringValue(body),
			Attributes: []attribute.KeyValue{attribute.Int("seq", i)}}.NewRecord()
		require.NoError(t, b.OnEmit(context.Background(), &r))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, b.ForceFlush(ctx), "nothing may be lost, nor wait for the retry budget")

	exp.mu.Lock()
	defer exp.mu.Unlock()
	require.Len(t, exp.got, 20)
	for i := range exp.got {
		r := &exp.got[i]
		require.EqualValues(t, i, seqOf(r), "out of order")
		truncated := false
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			if kv.Key == encoding.TruncatedKey {
				truncated = kv.Value.AsBool()
			}
			return true
		})
		if i != 7 {
			assert.Equal(t, "small", r.Body().AsString())
			assert.False(t, truncated, "record %d was cut", i)
			continue
		}
		body := r.Body().AsString()
		assert.True(t, truncated, "the cut is marked")
		assert.Less(t, len(body), 1<<20)
		assert.True(t, strings.HasSuffix(body, "…[truncated]"))
	}
	assert.GreaterOrEqual(t, exp.refused, giveUpAttempts, "the record was cut before it had failed alone three times")
	assert.Contains(t, reports.last(), "each was cut to fit")
	assert.Zero(t, b.Dropped())
	require.NoError(t, b.Shutdown(context.Background()))
}
