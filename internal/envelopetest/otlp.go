package envelopetest

import (
	"context"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// RequireOTLPBody fails t unless line is an OTLP/JSON
// ExportLogsServiceRequest holding exactly one log record whose body is
// the string body: how a test shows that an exporter was built with
// FormatOTLPJSON rather than the envelope.
func RequireOTLPBody(t testing.TB, line []byte, body string) {
	t.Helper()
	var req struct {
		ResourceLogs []struct {
			ScopeLogs []struct {
				LogRecords []struct {
					Body struct {
						StringValue *string `json:"stringValue"`
					} `json:"body"`
				} `json:"logRecords"`
			} `json:"scopeLogs"`
		} `json:"resourceLogs"`
	}
	if err := json.Unmarshal(line, &req); err != nil {
		t.Fatalf("not JSON: %v: %q", err, line)
	}
	var bodies []string
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				if lr.Body.StringValue == nil {
					t.Fatalf("a log record without a string body: %s", line)
				}
				bodies = append(bodies, *lr.Body.StringValue)
			}
		}
	}
	if len(bodies) != 1 || bodies[0] != body {
		t.Fatalf("want one OTLP/JSON log record with body %q, got %q in %s", body, bodies, line)
	}
}

// EmitOne emits one record with the string body through a provider whose
// only processor is a SimpleProcessor on exp, then shuts the provider down,
// so whatever exp writes for the record is at its destination.
func EmitOne(t testing.TB, exp sdklog.Exporter, body string) {
	t.Helper()
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	var rec log.Record
	rec.SetBody(attribute.StringValue(body))
	provider.Logger("envelopetest").Emit(context.Background(), rec)
	if err := provider.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
