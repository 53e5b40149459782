// Command slog logs through log/slog and the otelslog bridge into a provider
// that redacts, enriches, and writes to rotating files, stdout (WARN and
// up) and OTLP/HTTP, and flushes everything on SIGTERM/SIGINT or at exit.
//
//	cd examples/ecosystem && go run ./slog
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"

	"github.com/fapilog/fapilog-otel/examples/ecosystem/internal/pipeline"
	"github.com/fapilog/fapilog-otel/shutdown"
)

func main() {
	ctx := context.Background()
	p, err := pipeline.New(ctx, "checkout-slog")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := shutdown.NotifyContext(ctx, p.Provider)
	defer stop()

	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(p.Provider)))
	for i := range 100 {
		logger.InfoContext(ctx, "order placed", "order_id", i, "password", "never-shown")
	}
	logger.WarnContext(ctx, "payment slow", "duration_ms", 2300)
	logger.ErrorContext(ctx, "payment failed", "error", errors.New("card declined"))

	done, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown.FlushAndShutdown(done, p.Provider); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	p.Report()
}
