package stdoutjson_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
)

func Example() {
	exp, err := stdoutjson.New() // os.Stdout, fapilog envelope v1.1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	defer func() { _ = provider.Shutdown(context.Background()) }()

	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider)))
	logger.Info("order placed", "order_id", 42)

	// Returns nil only once the line above has been written to stdout.
	if err := provider.ForceFlush(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

func Example_writer() {
	var out strings.Builder
	exp, _ := stdoutjson.New(stdoutjson.WithWriter(&out))
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider)))
	logger.Warn("stock low", "sku", "A-1")
	_ = provider.Shutdown(context.Background())

	line := out.String()
	fmt.Println(strings.Contains(line, `"level":"WARNING"`), strings.Contains(line, `"message":"stock low"`))
	// Output: true true
}
