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
			processor.NewMinSeverity(log.SeverityInfo, sdklog.NewBatchProcessor(exp)))),
	)
	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider)))
	logger.Debug("not exported: below INFO")
	logger.Error("upstream refused", "password", "hunter2", "header", "Bearer abc.def")
	_ = provider.Shutdown(context.Background())

	line := out.String()
	fmt.Println(strings.Count(line, "\n"), strings.Contains(line, "hunter2"), strings.Contains(line, "abc.def"), strings.Contains(line, `"team":"payments"`))
	// Output: 1 false false true
}
