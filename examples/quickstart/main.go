// Command quickstart logs through the whole pipeline: slog, the otelslog
// bridge, an OpenTelemetry LoggerProvider with processor.NewBatch, and the
// stdoutjson exporter writing fapilog envelope lines to stdout.
//
// It flushes on SIGTERM or SIGINT (try -wait 30s and press Ctrl-C), or at the
// end of its run, and then reports on stderr what reached stdout.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -format otlpjson
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/processor"
	"github.com/fapilog/fapilog-otel/shutdown"
)

func main() {
	format := flag.String("format", "envelope", "line format: envelope or otlpjson")
	wait := flag.Duration("wait", 0, "keep logging this long; a signal ends it early")
	flag.Parse()
	if err := run(*format, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(format string, wait time.Duration) error {
	f := bridge.FormatEnvelope
	switch format {
	case "envelope":
	case "otlpjson":
		f = bridge.FormatOTLPJSON
	default:
		return fmt.Errorf("unknown -format %q", format)
	}

	counter := &countingWriter{w: os.Stdout}
	exp, err := stdoutjson.New(stdoutjson.WithWriter(counter), stdoutjson.WithFormat(f))
	if err != nil {
		return err
	}
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName("quickstart"),
		semconv.DeploymentEnvironmentName("dev"),
		semconv.ProcessPID(os.Getpid()),
	)
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(res),
		// processor.NewBatch in place of sdklog.NewBatchProcessor: same
		// defaults, but a full queue or a failed export loses nothing
		// silently.
		sdklog.WithProcessor(processor.NewBatch(exp)),
	)

	// On SIGTERM or SIGINT: flush within 5s, then the context ends.
	ctx, stop := shutdown.NotifyContext(context.Background(), provider)
	defer stop()

	logger := slog.New(otelslog.NewHandler("quickstart", otelslog.WithLoggerProvider(provider)))
	logger.Info("service started", "version", "1.0.0")
	logger.Debug("cache warmed", "entries", 1024)
	logger.Warn("slow request", "request_id", "req-7f3a", "duration_ms", 1234.5)
	logger.Error("payment failed", "correlation_id", "corr-42", "user_id", "u-17",
		"error", errors.New("card declined"), "amount", map[string]any{"value": 42, "currency": "EUR"})

	for deadline := time.Now().Add(wait); time.Now().Before(deadline) && ctx.Err() == nil; {
		logger.Info("tick", "at", time.Now().Format(time.RFC3339))
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if cause := context.Cause(ctx); cause != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", cause)
	}

	done, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown.FlushAndShutdown(done, provider); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "quickstart: flushed; %d lines (%d bytes) reached stdout\n", counter.lines, counter.bytes)
	return nil
}

// countingWriter counts what reaches stdout, to show that the flush was
// complete when it returned.
type countingWriter struct {
	w            *os.File
	lines, bytes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.bytes += n
	for _, b := range p[:n] {
		if b == '\n' {
			c.lines++
		}
	}
	return n, err
}

// Sync lets the sink's flush reach the file when stdout is one.
func (c *countingWriter) Sync() error { return c.w.Sync() }
