package processor_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/processor"
)

func Example() {
	var out strings.Builder
	exp, _ := stdoutjson.New(stdoutjson.WithWriter(&out))
	provider := sdklog.NewLoggerProvider(
		sdklog.WithProcessor(processor.NewRedact(processor.WithPatterns(processor.BearerToken))),
		sdklog.WithProcessor(processor.NewEnrich(processor.WithAttributes(attribute.String("team", "payments")))),
		sdklog.WithProcessor(processor.NewFlushOnSeverity(
			processor.NewMinSeverity(log.SeverityInfo, processor.NewBatch(exp)))),
	)
	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider)))
	logger.Debug("not exported: below INFO")
	logger.Error("upstream refused", "password", "hunter2", "header", "Bearer abc.def")
	_ = provider.Shutdown(context.Background())

	line := out.String()
	fmt.Println(strings.Count(line, "\n"), strings.Contains(line, "hunter2"), strings.Contains(line, "abc.def"), strings.Contains(line, `"team":"payments"`))
	// Output: 1 false false true
}

// NewBatch takes the place of sdklog.NewBatchProcessor in front of any
// exporter. Here the exporter fails its first two exports (a Collector
// restarting): the SDK's processor would have dropped those batches; Batch
// retries them, and ForceFlush returns nil only once every record is out.
func ExampleNewBatch() {
	exp := &flakyExporter{failures: 2}
	batch := processor.NewBatch(exp,
		processor.WithQueueFullPolicy(processor.QueueFullBlock), // the default
		processor.WithBatchErrorHandler(func(error) {}),         // keep the example's output quiet
	)
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(batch))
	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider)))
	for i := range 100 {
		logger.Info("order placed", "seq", i)
	}
	err := provider.ForceFlush(context.Background())
	fmt.Println("flush:", err, "exported:", exp.exported, "dropped:", batch.Dropped())
	_ = provider.Shutdown(context.Background())
	// Output: flush: <nil> exported: 100 dropped: 0
}

type flakyExporter struct {
	failures, exported int
}

func (e *flakyExporter) Export(_ context.Context, recs []sdklog.Record) error {
	if e.failures > 0 {
		e.failures--
		return fmt.Errorf("collector unavailable")
	}
	e.exported += len(recs)
	return nil
}
func (e *flakyExporter) ForceFlush(context.Context) error { return nil }
func (e *flakyExporter) Shutdown(context.Context) error   { return nil }
