package rotatingfile_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
)

func Example() {
	dir, _ := os.MkdirTemp("", "logs")
	defer os.RemoveAll(dir)

	exp, err := rotatingfile.New(
		rotatingfile.WithDirectory(dir),
		rotatingfile.WithFixedName(), // app.jsonl, rotated to app-YYYYmmdd-HHMMSS.jsonl.gz
		rotatingfile.WithPrefix("app"),
		rotatingfile.WithMaxSize(10<<20),                         // 10 MiB...
		rotatingfile.WithAlignedInterval(24*time.Hour, time.UTC), // ...or midnight UTC, whichever first
		rotatingfile.WithMaxFiles(5),
		rotatingfile.WithCompression(rotatingfile.CompressionGzip),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	logger := slog.New(otelslog.NewHandler("app", otelslog.WithLoggerProvider(provider)))
	logger.Info("order placed", "order_id", 42)

	// nil means the line is in app.jsonl and fsync'd.
	if err := provider.ForceFlush(context.Background()); err != nil {
		fmt.Println(err)
	}
	_ = provider.Shutdown(context.Background())

	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, n := range names {
		fmt.Println(filepath.Base(n))
	}
	// Output: app.jsonl
}
