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
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// limitExporter refuses, with a plain error as otlploghttp returns for a
// 413, every batch whose bodies add up to more than limit bytes, and keeps
// the records it takes.
type limitExporter struct {
	mu    sync.Mutex
	limit int
	// refuseEvent, when set, is an event name refused whatever the size.
	refuseEvent string
	refused     int
	got         []sdklog.Record
}

func (e *limitExporter) Export(_ context.Context, recs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	size := 0
	refuse := false
	for i := range recs {
		size += len(recs[i].Body().AsString())
		refuse = refuse || (e.refuseEvent != "" && recs[i].EventName() == e.refuseEvent)
	}
	if size > e.limit || refuse {
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
	assert.Contains(t, reports.last(), "1 records over 1048576 bytes (WithMaxRecordBytes) kept failing alone; each was cut")
	assert.Zero(t, b.Dropped())
	require.NoError(t, b.Shutdown(context.Background()))
}

// emitWithBig emits 20 records, the eighth with a body of bigBytes, each
// carrying its sequence number.
func emitWithBig(t *testing.T, b *Batch, bigBytes int, res *resource.Resource) {
	t.Helper()
	for i := range 20 {
		body := "small"
		if i == 7 {
			body = strings.Repeat("x", bigBytes)
		}
		r := logtest.RecordFactory{Body: attribute.StringValue(body), Resource: res,
			Attributes: []attribute.KeyValue{attribute.Int("seq", i)}}.NewRecord()
		require.NoError(t, b.OnEmit(context.Background(), &r))
	}
}

// WithMaxRecordBytes serves a receiver whose limit is under 1 MiB (a
// 256 KiB one here): a 600 KiB record, which the default would not cut, is
// cut to the option's size and delivered; at the default the same record
// fails until the retry budget gives it up.
func TestBatchWithMaxRecordBytesCutsToTheReceiversLimit(t *testing.T) {
	const limit = 256 << 10
	for _, c := range []struct {
		name string
		opts []BatchOption
		want int // records delivered
	}{
		{"default", nil, 19},
		{"WithMaxRecordBytes", []BatchOption{WithMaxRecordBytes(limit)}, 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			exp := &limitExporter{limit: limit}
			reports := &reportLog{}
			opts := append([]BatchOption{WithMaxRetryBackoff(time.Millisecond),
				WithMaxRetryElapsedTime(50 * time.Millisecond), WithBatchErrorHandler(reports.handle)}, c.opts...)
			b := NewBatch(exp, opts...)
			emitWithBig(t, b, 600<<10, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := b.ForceFlush(ctx)
			require.NotErrorIs(t, err, context.DeadlineExceeded)

			exp.mu.Lock()
			got := exp.got
			exp.mu.Unlock()
			require.Len(t, got, c.want)
			for i := range got {
				if seqOf(&got[i]) == 7 {
					line := encoding.New(encoding.OTLPJSON).Append(nil, &got[i])
					assert.LessOrEqual(t, len(line), limit, "cut to the option's size")
				}
			}
			if c.want == 20 {
				require.NoError(t, err)
				assert.Zero(t, b.Dropped())
				assert.Contains(t, reports.last(), "1 records over 262144 bytes (WithMaxRecordBytes) kept failing alone; each was cut",
					"the report names the option's size")
			} else {
				require.Error(t, err, "the record given up is in the flush's error")
				assert.EqualValues(t, 1, b.Dropped())
			}
			require.NoError(t, b.Shutdown(context.Background()))
		})
	}
}

// A record is cut once. Behind a limit it cannot be cut under (its
// resource alone is larger), it is cut as far as it goes and still
// delivered when the receiver takes it; when the receiver refuses it for
// its content, it takes the usual retry path and is given up after the
// budget, rather than being cut again and retried at once, for ever.
func TestBatchCutsARecordOnce(t *testing.T) {
	res := resource.NewSchemaless(attribute.String("k8s.pod.annotation", strings.Repeat("r", 4<<10)))
	for _, c := range []struct {
		name    string
		refuse  bool // the receiver refuses the large record for its content
		deliver int
	}{{"the receiver takes the cut record", false, 20}, {"the receiver refuses it", true, 19}} {
		t.Run(c.name, func(t *testing.T) {
			exp := &limitExporter{limit: 1 << 10}
			if c.refuse {
				exp.refuseEvent = "refused"
			}
			b := NewBatch(exp, WithMaxRecordBytes(1<<10), WithMaxRetryBackoff(time.Millisecond),
				WithMaxRetryElapsedTime(50*time.Millisecond), WithBatchErrorHandler(func(error) {}))
			defer func() { require.NoError(t, b.Shutdown(context.Background())) }()
			for i := range 20 {
				f := logtest.RecordFactory{Body: attribute.StringValue("small"), Resource: res,
					Attributes: []attribute.KeyValue{attribute.Int("seq", i)}}
				if i == 7 {
					f.Body, f.EventName = attribute.StringValue(strings.Repeat("x", 8<<10)), "refused"
				}
				r := f.NewRecord()
				require.NoError(t, b.OnEmit(context.Background(), &r))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := b.ForceFlush(ctx)
			require.NotErrorIs(t, err, context.DeadlineExceeded)

			exp.mu.Lock()
			defer exp.mu.Unlock()
			require.Len(t, exp.got, c.deliver)
			if !c.refuse {
				require.NoError(t, err)
				big := &exp.got[7]
				assert.Equal(t, "refused", big.EventName())
				assert.Less(t, len(big.Body().AsString()), 32, "cut as far as it goes")
				assert.True(t, wasCut(big))
				return
			}
			require.Error(t, err, "the record given up is in the flush's error")
			assert.EqualValues(t, 1, b.Dropped())
			// Halving takes a few refusals, the lone record a few
			// more; a cut retried at once at every failure would
			// make thousands.
			assert.Less(t, exp.refused, 100)
		})
	}
}
