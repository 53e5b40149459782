package encoding

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
)

var (
	testTime = time.Date(2026, 11, 27, 7, 34, 50, 123_456_789, time.UTC)
	testRes  = resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "checkout"),
		attribute.String("deployment.environment.name", "prod"),
		attribute.String("host.name", "node-7"),
		attribute.Int64("process.pid", 4242),
		attribute.String("service.version", "1.2.3"),
	)
	testScope = &instrumentation.Scope{
		Name: "checkout/http", Version: "v0.9.0", SchemaURL: "https://example.com/s",
		Attributes: attribute.NewSet(attribute.Bool("scope.flag", true)),
	}
	testTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	testSpanID  = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

func fullRecord() sdklog.Record {
	return logtest.RecordFactory{
		EventName:         "order.created",
		Timestamp:         testTime,
		ObservedTimestamp: testTime.Add(time.Millisecond),
		Severity:          log.SeverityWarn2,
		SeverityText:      "WARN",
		Body:              attribute.StringValue("order created"),
		Attributes: []attribute.KeyValue{
			attribute.String("correlation_id", "corr-1"),
			attribute.String("request_id", "req-1"),
			attribute.String("user_id", "u-1"),
			attribute.String("tenant_id", "t-1"),
			attribute.String("exception.type", "*errors.errorString"),
			attribute.String("exception.message", "boom"),
			attribute.String("exception.stacktrace", "main.go:1"),
			attribute.Int("items", 3),
			attribute.Float64("ratio", math.NaN()),
			attribute.Float64("up", math.Inf(1)),
			attribute.Float64("down", math.Inf(-1)),
			{Key: "raw", Value: attribute.ByteSliceValue([]byte{0, 1, 2, 0xff})},
			attribute.StringSlice("tags", []string{"a", "b"}),
			{Key: "nested", Value: attribute.MapValue(
				attribute.Int("n", 1),
				attribute.KeyValue{Key: "list", Value: attribute.SliceValue(attribute.StringValue("x"), attribute.BoolValue(false))},
			)},
			{Key: "nothing", Value: attribute.Value{}},
		},
		TraceID:              testTraceID,
		SpanID:               testSpanID,
		TraceFlags:           trace.FlagsSampled,
		Resource:             testRes,
		InstrumentationScope: testScope,
		DroppedAttributes:    2,
	}.NewRecord()
}

func encode(t testing.TB, f Format, r sdklog.Record) []byte {
	t.Helper()
	out := New(f).Append(nil, &r)
	if bytes.IndexByte(out, '\n') >= 0 {
		t.Fatalf("encoded record contains a newline: %s", out)
	}
	return out
}

func decode(t testing.TB, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, line)
	}
	if d.More() {
		t.Fatalf("trailing data after JSON object: %s", line)
	}
	return m
}

// expectJSON is an independent statement of how the envelope represents a
// value, written against encoding/json's decoded forms.
func expectJSON(v attribute.Value, depth int) any {
	switch v.Type() {
	case attribute.BOOL:
		return v.AsBool()
	case attribute.INT64:
		return json.Number(jsonInt(v.AsInt64()))
	case attribute.FLOAT64:
		return expectFloat(v.AsFloat64())
	case attribute.STRING:
		return string([]rune(v.AsString()))
	case attribute.BYTESLICE:
		return base64.StdEncoding.EncodeToString(v.AsByteSlice())
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE:
		out := []any{}
		for _, e := range sliceValues(v) {
			out = append(out, expectJSON(e, depth+1))
		}
		return out
	case attribute.SLICE:
		if depth >= maxDepth {
			return depthMarker
		}
		out := []any{}
		for _, e := range v.AsSlice() {
			out = append(out, expectJSON(e, depth+1))
		}
		return out
	case attribute.MAP:
		if depth >= maxDepth {
			return depthMarker
		}
		out := map[string]any{}
		for _, kv := range v.AsMap() {
			out[string([]rune(string(kv.Key)))] = expectJSON(kv.Value, depth+1)
		}
		return out
	}
	return nil
}

func sliceValues(v attribute.Value) []attribute.Value {
	var out []attribute.Value
	switch v.Type() {
	case attribute.BOOLSLICE:
		for _, e := range v.AsBoolSlice() {
			out = append(out, attribute.BoolValue(e))
		}
	case attribute.INT64SLICE:
		for _, e := range v.AsInt64Slice() {
			out = append(out, attribute.Int64Value(e))
		}
	case attribute.FLOAT64SLICE:
		for _, e := range v.AsFloat64Slice() {
			out = append(out, attribute.Float64Value(e))
		}
	case attribute.STRINGSLICE:
		for _, e := range v.AsStringSlice() {
			out = append(out, attribute.StringValue(e))
		}
	}
	return out
}

func jsonInt(i int64) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// expectFloat returns what a decoded float must equal: the special strings,
// or a json.Number that parses back to exactly f.
func expectFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// normalize turns json.Number into float64 where want holds a float, so a
// float's round trip is compared by value, not by spelling.
func normalize(got, want any) any {
	switch w := want.(type) {
	case float64:
		if n, ok := got.(json.Number); ok {
			f, err := n.Float64()
			if err != nil {
				return got
			}
			return f
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return got
		}
		out := make([]any, len(g))
		for i := range g {
			out[i] = normalize(g[i], w[i])
		}
		return out
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return got
		}
		out := make(map[string]any, len(g))
		for k, v := range g {
			out[k] = normalize(v, w[k])
		}
		return out
	}
	return got
}

func decodeNumber(s string) any { return json.Number(s) }
