package encoding

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// decodeOTLP parses a line with protojson, which rejects unknown fields,
// wrong types and invalid UTF-8.
func decodeOTLP(t testing.TB, line []byte) *collogs.ExportLogsServiceRequest {
	t.Helper()
	var req collogs.ExportLogsServiceRequest
	require.NoError(t, protojson.Unmarshal(line, &req), "%s", line)
	require.Len(t, req.ResourceLogs, 1)
	require.Len(t, req.ResourceLogs[0].ScopeLogs, 1)
	require.Len(t, req.ResourceLogs[0].ScopeLogs[0].LogRecords, 1)
	return &req
}

// OTLP/JSON writes ids in hex where protojson expects base64; a 32- or
// 16-character hex string is also valid base64, so protojson's bytes,
// re-encoded, give back the hex text that was on the wire.
func wireHex(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestOTLPJSONRoundTripsEveryField(t *testing.T) {
	rec := fullRecord()
	line := encode(t, OTLPJSON, rec)
	req := decodeOTLP(t, line)
	rl := req.ResourceLogs[0]
	assert.Equal(t, testRes.SchemaURL(), rl.SchemaUrl)
	assert.Equal(t, attrsOf(testRes.Attributes()), fromProto(rl.Resource.Attributes))

	sl := rl.ScopeLogs[0]
	assert.Equal(t, testScope.Name, sl.Scope.Name)
	assert.Equal(t, testScope.Version, sl.Scope.Version)
	assert.Equal(t, testScope.SchemaURL, sl.SchemaUrl)
	assert.Equal(t, attrsOf(testScope.Attributes.ToSlice()), fromProto(sl.Scope.Attributes))

	lr := sl.LogRecords[0]
	assert.Equal(t, uint64(rec.Timestamp().UnixNano()), lr.TimeUnixNano)
	assert.Equal(t, uint64(rec.ObservedTimestamp().UnixNano()), lr.ObservedTimeUnixNano)
	assert.EqualValues(t, rec.Severity(), lr.SeverityNumber)
	assert.Equal(t, rec.SeverityText(), lr.SeverityText)
	assert.Equal(t, "order created", lr.Body.GetStringValue())
	assert.Equal(t, rec.EventName(), lr.EventName)
	assert.EqualValues(t, rec.DroppedAttributes(), lr.DroppedAttributesCount)
	assert.EqualValues(t, rec.TraceFlags(), lr.Flags)
	tid, sid := rec.TraceID(), rec.SpanID()
	assert.Equal(t, hex.EncodeToString(tid[:]), wireHex(lr.TraceId))
	assert.Equal(t, hex.EncodeToString(sid[:]), wireHex(lr.SpanId))

	var want []attribute.KeyValue
	rec.WalkAttributes(func(kv attribute.KeyValue) bool { want = append(want, kv); return true })
	assert.Equal(t, attrsOf(want), fromProto(lr.Attributes))
}

func TestOTLPJSONMinimalAndHostile(t *testing.T) {
	deep := attribute.StringValue("leaf")
	for range 200 {
		deep = attribute.SliceValue(deep)
	}
	recs := []sdklog.Record{
		logtest.RecordFactory{}.NewRecord(),
		logtest.RecordFactory{
			Body:         attribute.MapValue(attribute.String("k", "\xff\x00"), attribute.String("k", "last")),
			SeverityText: "\x80",
			Severity:     99,
			Attributes: []attribute.KeyValue{
				{Key: "deep", Value: deep},
				attribute.Float64Slice("f", []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e300}),
				{Key: "b", Value: attribute.ByteSliceValue(nil)},
				{Key: "e", Value: attribute.Value{}},
				attribute.String("dup", "1"), attribute.String("dup", "2"),
			},
		}.NewRecord(),
	}
	for _, rec := range recs {
		line := encode(t, OTLPJSON, rec)
		lr := decodeOTLP(t, line).ResourceLogs[0].ScopeLogs[0].LogRecords[0]
		var want []attribute.KeyValue
		rec.WalkAttributes(func(kv attribute.KeyValue) bool { want = append(want, kv); return true })
		assert.Equal(t, attrsOf(want), fromProto(lr.Attributes))
		assert.Equal(t, expectAny(rec.Body(), 0), anyOf(lr.Body))
	}
}

// attrsOf and fromProto bring both sides to one comparable shape: plain Go
// values with sanitised strings, maps de-duplicated keeping the last entry.
func attrsOf(kvs []attribute.KeyValue) map[string]any {
	out := map[string]any{}
	for _, kv := range kvs {
		out[string([]rune(string(kv.Key)))] = expectAny(kv.Value, 0)
	}
	return out
}

func fromProto(kvs []*common.KeyValue) map[string]any {
	out := map[string]any{}
	for _, kv := range kvs {
		out[kv.Key] = anyOf(kv.Value)
	}
	return out
}

func expectAny(v attribute.Value, depth int) any {
	switch v.Type() {
	case attribute.EMPTY:
		return nil
	case attribute.INT64:
		return v.AsInt64()
	case attribute.FLOAT64:
		f := v.AsFloat64()
		if math.IsNaN(f) {
			return "NaN" // NaN != NaN; compare a marker instead
		}
		return f
	case attribute.BYTESLICE:
		return append([]byte{}, v.AsByteSlice()...)
	case attribute.SLICE:
		if depth >= maxOTLPDepth {
			return depthMarker
		}
		out := []any{}
		for _, e := range v.AsSlice() {
			out = append(out, expectAny(e, depth+1))
		}
		return out
	case attribute.MAP:
		if depth >= maxOTLPDepth {
			return depthMarker
		}
		return attrsMap(v.AsMap(), depth+1)
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE:
		out := []any{}
		for _, e := range sliceValues(v) {
			out = append(out, expectAny(e, depth+1))
		}
		return out
	}
	return expectJSON(v, depth)
}

func attrsMap(kvs []attribute.KeyValue, depth int) map[string]any {
	out := map[string]any{}
	for _, kv := range kvs {
		out[string([]rune(string(kv.Key)))] = expectAny(kv.Value, depth)
	}
	return out
}

func anyOf(v *common.AnyValue) any {
	switch x := v.GetValue().(type) {
	case nil:
		return nil
	case *common.AnyValue_StringValue:
		return x.StringValue
	case *common.AnyValue_BoolValue:
		return x.BoolValue
	case *common.AnyValue_IntValue:
		return x.IntValue
	case *common.AnyValue_DoubleValue:
		if math.IsNaN(x.DoubleValue) {
			return "NaN"
		}
		return x.DoubleValue
	case *common.AnyValue_BytesValue:
		return append([]byte{}, x.BytesValue...)
	case *common.AnyValue_ArrayValue:
		out := []any{}
		for _, e := range x.ArrayValue.Values {
			out = append(out, anyOf(e))
		}
		return out
	case *common.AnyValue_KvlistValue:
		return fromProto(x.KvlistValue.Values)
	}
	return v
}

// Protobuf JSON parsers in Python, Java and C++ refuse more than 100
// nested message levels by default: deep attribute values must be cut
// before that, in every attribute position and in the body.
func TestOTLPJSONNestingWithinCommonDecoderLimits(t *testing.T) {
	deepMap := attribute.StringValue("leaf")
	deepSlice := attribute.StringValue("leaf")
	for range 200 {
		deepMap = attribute.MapValue(attribute.KeyValue{Key: "k", Value: deepMap})
		deepSlice = attribute.SliceValue(deepSlice)
	}
	rec := logtest.RecordFactory{
		Body:       deepMap,
		Attributes: []attribute.KeyValue{{Key: "m", Value: deepMap}, {Key: "s", Value: deepSlice}},
	}.NewRecord()
	line := New(OTLPJSON).Append(nil, &rec)
	var req collogs.ExportLogsServiceRequest
	require.NoError(t, protojson.UnmarshalOptions{RecursionLimit: 100}.Unmarshal(line, &req),
		"a decoder with the common default limit of 100 refused the line")
	assert.Contains(t, string(line), depthMarker, "the nesting was cut visibly")
}
