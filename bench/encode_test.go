package bench

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/internal/testrecords"
)

// One record everywhere: testrecords' message and ten attributes, spelled
// below in zap's and slog's terms with the same keys and values.
const msg = testrecords.Message

var (
	start = time.Date(2026, 11, 27, 7, 34, 50, 0, time.UTC)
	res   = resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("host.name", "node-7"))
)

func zapFields() []zap.Field {
	return []zap.Field{
		zap.String("http.method", "GET"),
		zap.String("http.route", "/api/v1/orders/{id}"),
		zap.Int("http.status_code", 200),
		zap.Float64("duration_ms", 12.5),
		zap.Bool("cache_hit", true),
		zap.String("user_agent", "curl/8.4.0"),
		zap.Int("bytes", 5120),
		zap.String("request_id", "req-81f2"),
		zap.String("region", "eu-west-1"),
		zap.Int("attempt", 1),
	}
}

func slogAttrs() []slog.Attr {
	return []slog.Attr{
		slog.String("http.method", "GET"),
		slog.String("http.route", "/api/v1/orders/{id}"),
		slog.Int("http.status_code", 200),
		slog.Float64("duration_ms", 12.5),
		slog.Bool("cache_hit", true),
		slog.String("user_agent", "curl/8.4.0"),
		slog.Int("bytes", 5120),
		slog.String("request_id", "req-81f2"),
		slog.String("region", "eu-west-1"),
		slog.Int("attempt", 1),
	}
}

// The trace context every case carries: the envelope writes trace and span
// ids, so the peers' "with context" cases carry them too.
var (
	traceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanID  = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

func record() sdklog.Record {
	return logtest.RecordFactory{
		Timestamp: start, ObservedTimestamp: start,
		Severity: log.SeverityInfo, SeverityText: "INFO",
		Body: attribute.StringValue(msg), Attributes: testrecords.TenAttributes(),
		Resource: res, TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}.NewRecord()
}

// contextFields are what the envelope carries besides the record's own
// attributes (service and host from the resource, trace and span ids), as
// zap and slog loggers carry them: fields added once with With.
func contextZap() []zap.Field {
	return []zap.Field{zap.String("service", "checkout"), zap.String("host", "node-7"),
		zap.String("trace_id", traceID.String()), zap.String("span_id", spanID.String())}
}

func contextSlog() []any {
	return []any{"service", "checkout", "host", "node-7", "trace_id", traceID.String(), "span_id", spanID.String()}
}

// exportEach hands the exporter one record per operation: the worst case
// for per-call overhead, and the unit zap and slog are measured in. The
// flush at the end is inside the measurement: work left to another
// goroutine is not free.
func exportEach(b *testing.B, exp sdklog.Exporter) { exportBatched(b, exp, 1) }

// exportBatched is exportEach as a batch processor drives an exporter: one
// operation is one record, and every batch records go out in one Export
// (the SDK's default batch is 512), so the per-Export costs (the bridge's
// lock, the line sinks' wait for their write) are shared.
func exportBatched(b *testing.B, exp sdklog.Exporter, batch int) {
	recs := records(batch)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	done := startCPU(b)
	n := 0
	for b.Loop() {
		if n++; n == batch {
			if err := exp.Export(ctx, recs); err != nil {
				b.Fatal(err)
			}
			n = 0
		}
	}
	if n > 0 {
		if err := exp.Export(ctx, recs[:n]); err != nil {
			b.Fatal(err)
		}
	}
	if err := exp.ForceFlush(ctx); err != nil {
		b.Fatal(err)
	}
	done()
	b.StopTimer()
	if err := exp.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}

// loop runs f once per operation with allocations and CPU time reported.
func loop(b *testing.B, f func()) {
	b.ReportAllocs()
	b.ResetTimer()
	done := startCPU(b)
	for b.Loop() {
		f()
	}
	done()
}

// BenchmarkEncodeWrite is one record encoded and written to io.Discard (a
// counting one: B/line is reported), with the same message and ten
// attributes everywhere. The envelope also carries service, host, trace
// and span ids; the "+context" peers carry the same four fields (With), the
// bare ones do not.
func BenchmarkEncodeWrite(b *testing.B) {
	b.Run("fapilog/envelope", func(b *testing.B) {
		w := &countingDiscard{}
		exp, err := stdoutjson.New(stdoutjson.WithWriter(w))
		if err != nil {
			b.Fatal(err)
		}
		exportEach(b, exp)
		reportLine(b, w)
	})
	b.Run("fapilog/envelope-batch512", func(b *testing.B) {
		w := &countingDiscard{}
		exp, err := stdoutjson.New(stdoutjson.WithWriter(w))
		if err != nil {
			b.Fatal(err)
		}
		exportBatched(b, exp, 512)
		reportLine(b, w)
	})
	b.Run("fapilog/otlpjson", func(b *testing.B) {
		w := &countingDiscard{}
		exp, err := stdoutjson.New(stdoutjson.WithWriter(w), stdoutjson.WithExporterOptions(bridge.WithFormat(bridge.FormatOTLPJSON)))
		if err != nil {
			b.Fatal(err)
		}
		exportEach(b, exp)
		reportLine(b, w)
	})
	b.Run("otel-stdoutlog", func(b *testing.B) {
		w := &countingDiscard{}
		exp, err := stdoutlog.New(stdoutlog.WithWriter(w))
		if err != nil {
			b.Fatal(err)
		}
		exportEach(b, exp)
		reportLine(b, w)
	})
	zapLogger := func(w *countingDiscard) *zap.Logger {
		return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(w), zapcore.DebugLevel))
	}
	b.Run("zap-json", func(b *testing.B) {
		w := &countingDiscard{}
		logger, fields := zapLogger(w), zapFields()
		loop(b, func() { logger.Info(msg, fields...) })
		reportLine(b, w)
	})
	b.Run("zap-json+context", func(b *testing.B) {
		w := &countingDiscard{}
		logger, fields := zapLogger(w).With(contextZap()...), zapFields()
		loop(b, func() { logger.Info(msg, fields...) })
		reportLine(b, w)
	})
	b.Run("slog-json", func(b *testing.B) {
		w := &countingDiscard{}
		logger, attrs, ctx := slog.New(slog.NewJSONHandler(w, nil)), slogAttrs(), context.Background()
		loop(b, func() { logger.LogAttrs(ctx, slog.LevelInfo, msg, attrs...) })
		reportLine(b, w)
	})
	b.Run("slog-json+context", func(b *testing.B) {
		w := &countingDiscard{}
		logger, attrs, ctx := slog.New(slog.NewJSONHandler(w, nil)).With(contextSlog()...), slogAttrs(), context.Background()
		loop(b, func() { logger.LogAttrs(ctx, slog.LevelInfo, msg, attrs...) })
		reportLine(b, w)
	})
}

// noopExporter is the baseline: the pipeline's cost without any exporter
// work.
type noopExporter struct{}

func (noopExporter) Export(context.Context, []sdklog.Record) error { return nil }
func (noopExporter) ForceFlush(context.Context) error              { return nil }
func (noopExporter) Shutdown(context.Context) error                { return nil }
