package bench

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/processor"
)

// BenchmarkProcessorOnEmit is the processor's own cost per record: OnEmit
// of a 10-attribute record, with a no-op exporter behind the queue. It
// flushes every 1024 records so no queue ever overflows (a dropped record
// would be work not measured); the flush is part of the cost.
func BenchmarkProcessorOnEmit(b *testing.B) {
	run := func(b *testing.B, p sdklog.Processor) {
		rec := record()
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			if err := p.OnEmit(ctx, &rec); err != nil {
				b.Fatal(err)
			}
			if i++; i%1024 == 0 {
				if err := p.ForceFlush(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		_ = p.Shutdown(ctx)
	}
	b.Run("sdk-BatchProcessor", func(b *testing.B) { run(b, sdklog.NewBatchProcessor(noopExporter{})) })
	b.Run("fapilog-NewBatch", func(b *testing.B) { run(b, processor.NewBatch(noopExporter{})) })
}

// BenchmarkPipelineProcessors is slog → otelslog → LoggerProvider →
// processor → stdoutjson (io.Discard), the same 10-attribute record
// throughout, with the SDK's BatchProcessor at its defaults, with
// processor.NewBatch, and with the fast setup (sdklog.WithAllowKeyDuplication
// plus processor.NewDedup first, then NewBatch), whose output is the same.
func BenchmarkPipelineProcessors(b *testing.B) {
	run := func(b *testing.B, newProcessor func(sdklog.Exporter) sdklog.Processor, opts ...sdklog.LoggerProviderOption) {
		exp, err := stdoutjson.New(stdoutjson.WithWriter(io.Discard))
		if err != nil {
			b.Fatal(err)
		}
		pipeline(b, exp, newProcessor, opts...)
	}
	sdkBatch := func(e sdklog.Exporter) sdklog.Processor { return sdklog.NewBatchProcessor(e) }
	ourBatch := func(e sdklog.Exporter) sdklog.Processor { return processor.NewBatch(e) }
	b.Run("sdk-default", func(b *testing.B) { run(b, sdkBatch) })
	b.Run("NewBatch", func(b *testing.B) { run(b, ourBatch) })
	b.Run("fast-path", func(b *testing.B) {
		run(b, ourBatch, sdklog.WithAllowKeyDuplication(), sdklog.WithProcessor(processor.NewDedup()))
	})
	// The same two with a no-op exporter: the pipeline without our encoder,
	// to show how much of the difference the encoder leaves.
	b.Run("sdk-default-noop", func(b *testing.B) { pipeline(b, noopExporter{}, sdkBatch) })
	b.Run("fast-path-noop", func(b *testing.B) {
		pipeline(b, noopExporter{}, ourBatch, sdklog.WithAllowKeyDuplication(), sdklog.WithProcessor(processor.NewDedup()))
	})
}

// pipeline measures slog → otelslog → LoggerProvider → newProcessor(exp)
// per record, flushing every 1024 records so no queue overflows (a dropped
// record would be work not measured).
func pipeline(b *testing.B, exp sdklog.Exporter, newProcessor func(sdklog.Exporter) sdklog.Processor, opts ...sdklog.LoggerProviderOption) {
	opts = append([]sdklog.LoggerProviderOption{sdklog.WithResource(res)}, opts...)
	opts = append(opts, sdklog.WithProcessor(newProcessor(exp)))
	provider := sdklog.NewLoggerProvider(opts...)
	logger := slog.New(otelslog.NewHandler("bench", otelslog.WithLoggerProvider(provider)))
	attrs := slogAttrs()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		logger.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
		if i++; i%1024 == 0 {
			if err := provider.ForceFlush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := provider.ForceFlush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	_ = provider.Shutdown(ctx)
}
