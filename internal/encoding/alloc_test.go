//go:build !race

// Allocation tests: the race detector allocates and randomises sync.Pool,
// so they are built only without it (.ci/run runs them so).

package encoding

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"

	"github.com/fapilog/fapilog-otel/internal/testrecords"
)

func TestAppendDoesNotAllocate(t *testing.T) {
	r := logtest.RecordFactory{
		Timestamp: testTime, Severity: log.SeverityInfo, SeverityText: "INFO",
		Body: attribute.StringValue(testrecords.Message), Attributes: testrecords.TenAttributes(),
		Resource: testRes, InstrumentationScope: testScope,
		TraceID: testTraceID, SpanID: testSpanID, TraceFlags: 1,
	}.NewRecord()
	for _, f := range []Format{Envelope, OTLPJSON} {
		enc := New(f)
		buf := enc.Append(nil, &r)
		allocs := testing.AllocsPerRun(1000, func() { buf = enc.Append(buf[:0], &r) })
		assert.Zero(t, allocs, "%s allocates per record", f)
	}
}

// A backdated record (its time and its observed time in different
// seconds) formats each once per second, not once per record.
func TestAppendBackdatedDoesNotAllocate(t *testing.T) {
	r := logtest.RecordFactory{
		Timestamp: testTime, ObservedTimestamp: testTime.Add(36 * time.Hour),
		Body: attribute.StringValue(testrecords.Message), Attributes: testrecords.TenAttributes(),
	}.NewRecord()
	enc := New(Envelope)
	buf := enc.Append(nil, &r)
	allocs := testing.AllocsPerRun(1000, func() { buf = enc.Append(buf[:0], &r) })
	assert.Zero(t, allocs)
}
