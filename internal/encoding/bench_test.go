package encoding

import (
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"

	"github.com/fapilog/fapilog-otel/internal/testrecords"
)

// BenchmarkAppend measures the encoder alone on the shared record.
func BenchmarkAppend(b *testing.B) {
	r := logtest.RecordFactory{
		Timestamp: time.Now(), ObservedTimestamp: time.Now(), Severity: log.SeverityInfo, SeverityText: "INFO",
		Body: attribute.StringValue(testrecords.Message), Attributes: testrecords.TenAttributes(), Resource: testRes,
	}.NewRecord()
	for _, f := range []Format{Envelope, OTLPJSON} {
		b.Run(f.String(), func(b *testing.B) {
			enc := New(f)
			buf := enc.Append(nil, &r)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = enc.Append(buf[:0], &r)
			}
		})
	}
}

// BenchmarkAppendFreshKeys is the encoder on records whose ten keys are
// built afresh for each record (the key table's worst case: every lookup a
// miss, until the table steps aside). Building the record is part of each
// operation; compare with the same benchmark at an earlier commit.
func BenchmarkAppendFreshKeys(b *testing.B) {
	enc := New(Envelope)
	var buf []byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		attrs := make([]attribute.KeyValue, 10)
		for j := range attrs {
			attrs[j] = attribute.Int("field."+strconv.Itoa(j), i)
		}
		r := logtest.RecordFactory{Timestamp: testTime, Attributes: attrs}.NewRecord()
		buf = enc.Append(buf[:0], &r)
		i++
	}
}
