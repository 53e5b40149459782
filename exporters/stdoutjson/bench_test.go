package stdoutjson_test

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

// BenchmarkForceFlushDeadlineOvershoot measures how long provider.ForceFlush
// runs past its deadline when the writer is blocked: the "returns on time"
// half of the flush promise, which tests only bound loosely. Goal: under 5ms.
func BenchmarkForceFlushDeadlineOvershoot(b *testing.B) {
	const deadline = 5 * time.Millisecond
	dest := testdest.New()
	exp, err := stdoutjson.New(stdoutjson.WithWriter(dest))
	if err != nil {
		b.Fatal(err)
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	logger := otelslog.NewLogger("bench", otelslog.WithLoggerProvider(provider))
	resume := dest.Stall()
	var over []time.Duration
	b.ResetTimer()
	for b.Loop() {
		logger.Info("pending")
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		start := time.Now()
		if err := provider.ForceFlush(ctx); err == nil {
			b.Fatal("ForceFlush succeeded on a blocked writer")
		}
		over = append(over, time.Since(start)-deadline)
		cancel()
	}
	b.StopTimer()
	slices.Sort(over)
	b.ReportMetric(float64(over[len(over)/2].Microseconds()), "p50-overshoot-µs")
	b.ReportMetric(float64(over[len(over)*99/100].Microseconds()), "p99-overshoot-µs")
	b.ReportMetric(float64(over[len(over)-1].Microseconds()), "max-overshoot-µs")
	resume()
	if err := provider.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkForceFlush measures a flush of one record to a writer that takes
// it at once: the fixed cost a caller pays for the promise.
func BenchmarkForceFlush(b *testing.B) {
	exp, err := stdoutjson.New(stdoutjson.WithWriter(io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	logger := otelslog.NewLogger("bench", otelslog.WithLoggerProvider(provider))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		logger.Info("flushed")
		if err := provider.ForceFlush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = provider.Shutdown(ctx)
}
