package processor

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/internal/testrecords"
)

// nopProcessor is the baseline downstream: it accepts and drops.
type nopProcessor struct{}

func (nopProcessor) OnEmit(context.Context, *sdklog.Record) error           { return nil }
func (nopProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (nopProcessor) Shutdown(context.Context) error                         { return nil }
func (nopProcessor) ForceFlush(context.Context) error                       { return nil }

// BenchmarkEmit measures the SDK's emit path with each processor in front
// of a no-op one, for the shared record (nothing in it to redact). Compare
// each with "sdk-only": Redact's goal is under 10% more.
func BenchmarkEmit(b *testing.B) {
	var r log.Record
	r.SetSeverity(log.SeverityInfo)
	r.SetBody(attribute.StringValue(testrecords.Message))
	r.AddAttributes(testrecords.TenAttributes()...)
	ctx := context.Background()
	cases := []struct {
		name  string
		procs []sdklog.Processor
	}{
		{"sdk-only", []sdklog.Processor{nopProcessor{}}},
		{"redact", []sdklog.Processor{NewRedact(), nopProcessor{}}},
		{"redact-patterns", []sdklog.Processor{NewRedact(WithPatterns(BearerToken, CardNumber)), nopProcessor{}}},
		{"enrich", []sdklog.Processor{NewEnrich(WithAttributes(attribute.String("team", "payments"))), nopProcessor{}}},
		{"min-severity", []sdklog.Processor{NewMinSeverity(log.SeverityInfo, nopProcessor{})}},
		{"flush-on-severity", []sdklog.Processor{NewFlushOnSeverity(nopProcessor{})}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			opts := make([]sdklog.LoggerProviderOption, 0, len(c.procs))
			for _, p := range c.procs {
				opts = append(opts, sdklog.WithProcessor(p))
			}
			provider := sdklog.NewLoggerProvider(opts...)
			logger := provider.Logger("bench")
			b.ReportAllocs()
			for b.Loop() {
				logger.Emit(ctx, r)
			}
			b.StopTimer()
			_ = provider.Shutdown(ctx)
		})
	}
}
