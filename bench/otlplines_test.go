package bench

import (
	"context"
	"testing"

	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
)

// BenchmarkOTLPLines compares OTLP/JSON with one record per line against
// one request per exported batch per line (bridge.WithOTLPBatchLines), for
// the BatchProcessor's batches of 512 records; times are per record.
func BenchmarkOTLPLines(b *testing.B) {
	run := func(b *testing.B, opts ...bridge.Option) {
		w := &countingDiscard{}
		exp, err := stdoutjson.New(stdoutjson.WithWriter(w), stdoutjson.WithExporterOptions(
			append([]bridge.Option{bridge.WithFormat(bridge.FormatOTLPJSON)}, opts...)...))
		if err != nil {
			b.Fatal(err)
		}
		recs := make([]sdklog.Record, 512)
		for i := range recs {
			recs[i] = record()
		}
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		n := 0
		for b.Loop() {
			if err := exp.Export(ctx, recs); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := exp.ForceFlush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*len(recs)), "ns/record")
		b.ReportMetric(float64(w.n.Load())/float64(n*len(recs)), "B/record")
		_ = exp.Shutdown(ctx)
	}
	b.Run("record-per-line", func(b *testing.B) { run(b) })
	b.Run("batch-per-line", func(b *testing.B) { run(b, bridge.WithOTLPBatchLines()) })
}
