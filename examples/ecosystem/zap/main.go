// Command zap logs through go.uber.org/zap and the otelzap bridge into the
// same provider as the slog example.
//
//	cd examples/ecosystem && go run ./zap
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelzap"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otel/examples/ecosystem/internal/pipeline"
	"github.com/fapilog/fapilog-otel/shutdown"
)

func main() {
	ctx := context.Background()
	p, err := pipeline.New(ctx, "checkout-zap")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stop := shutdown.Notify(p.Provider)
	defer stop()

	logger := zap.New(otelzap.NewCore("checkout", otelzap.WithLoggerProvider(p.Provider)))
	for i := range 100 {
		logger.Info("order placed", zap.Int("order_id", i), zap.String("token", "never-shown"))
	}
	logger.Warn("payment slow", zap.Int("duration_ms", 2300))
	logger.Error("payment failed", zap.String("reason", "card declined"))

	done, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown.FlushAndShutdown(done, p.Provider); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	p.Report()
}
