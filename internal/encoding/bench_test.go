package encoding

import (
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
