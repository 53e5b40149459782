package bench

import (
	"context"
	"io"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/internal/testrecords"
	"github.com/fapilog/fapilog-otel/processor"
)

// BenchmarkFlushAfter1000 is the latency a caller of provider.ForceFlush
// sees: each operation emits 1,000 records and calls ForceFlush, and
// flush-ns/op is the time ForceFlush alone took (ns/op is both). Through
// the SDK's BatchProcessor and through processor.NewBatch, both at their
// defaults, to stdoutjson on io.Discard and to a no-op
// exporter. The no-op case is the processor's own cost; the difference is
// what the exporter adds to a flush.
func BenchmarkFlushAfter1000(b *testing.B) {
	processors := []struct {
		name string
		new  func(sdklog.Exporter) sdklog.Processor
	}{
		{"sdk-BatchProcessor", func(e sdklog.Exporter) sdklog.Processor { return sdklog.NewBatchProcessor(e) }},
		{"NewBatch", func(e sdklog.Exporter) sdklog.Processor { return processor.NewBatch(e) }},
	}
	for _, p := range processors {
		b.Run(p.name+"/stdoutjson", func(b *testing.B) {
			exp, err := stdoutjson.New(stdoutjson.WithWriter(io.Discard))
			if err != nil {
				b.Fatal(err)
			}
			flushAfter(b, p.new(exp), 1000)
		})
		b.Run(p.name+"/noop", func(b *testing.B) { flushAfter(b, p.new(noopExporter{}), 1000) })
	}
}

func flushAfter(b *testing.B, proc sdklog.Processor, n int) {
	provider := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(proc))
	logger := provider.Logger("bench")
	var r otellog.Record
	r.SetTimestamp(start)
	r.SetSeverity(otellog.SeverityInfo)
	r.SetBody(attribute.StringValue(msg))
	r.AddAttributes(testrecords.TenAttributes()...)
	ctx := context.Background()
	var flushing time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for range n {
			logger.Emit(ctx, r)
		}
		// Timed by hand, not with StopTimer: b.Loop sizes its run by
		// timed time, and with the emits untimed it would run for
		// minutes.
		start := time.Now()
		if err := provider.ForceFlush(ctx); err != nil {
			b.Fatal(err)
		}
		flushing += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(flushing.Nanoseconds())/float64(b.N), "flush-ns/op")
	_ = provider.Shutdown(ctx)
}
