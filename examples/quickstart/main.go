// Command quickstart is the README's quickstart, exactly: slog through the
// otelslog bridge into an OpenTelemetry LoggerProvider, processor.NewBatch,
// and the stdoutjson exporter writing fapilog envelope lines to stdout,
// flushed on SIGTERM/SIGINT and at the end of main. A test keeps this file
// and the README's code block identical.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"log/slog"
	"os"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/processor"
	"github.com/fapilog/fapilog-otel/shutdown"
)

func main() {
	exp, err := stdoutjson.New() // stdout, fapilog envelope v1.1
	if err != nil {
		slog.Error("quickstart", "error", err)
		os.Exit(1)
	}
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName("checkout"),
		semconv.DeploymentEnvironmentName("dev"),
	)
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(res),
		sdklog.WithProcessor(processor.NewBatch(exp)), // drop-in for sdklog.NewBatchProcessor
	)
	// On SIGTERM/SIGINT: flush within 5s, then exit as the signal would
	// have. A failed flush (or a dropped record) is reported on stderr.
	stop := shutdown.Notify(provider)
	defer stop()

	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider)))
	logger.Info("order placed", "order_id", 42, "user_id", "u-17")
	logger.Warn("slow request", "request_id", "req-7f3a", "duration_ms", 1234.5)

	// Leaving main: flush, then shut down, within 5s.
	ctx, cancel := context.WithTimeout(context.Background(), shutdown.DefaultTimeout)
	defer cancel()
	if err := shutdown.FlushAndShutdown(ctx, provider); err != nil {
		slog.Error("quickstart: flush", "error", err)
		os.Exit(1)
	}
}
