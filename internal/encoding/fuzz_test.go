package encoding

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fapilog/fapilog-otel/internal/envelopetest"
)

// fuzzRecord builds a record whose every part comes from the fuzzer: strings
// with arbitrary bytes, extreme numbers, nested values of fuzzed depth and
// repeated keys.
func fuzzRecord(msg, key, sval string, ival int64, fval float64, raw []byte, depth uint8, sev int8, ts int64) sdklog.Record {
	nested := attribute.StringValue(sval)
	for i := range int(depth) % 80 {
		if i%2 == 0 {
			nested = attribute.MapValue(attribute.KeyValue{Key: attribute.Key(key + "x"), Value: nested}, attribute.String(key, sval))
		} else {
			nested = attribute.SliceValue(nested, attribute.Float64Value(fval))
		}
	}
	body := attribute.StringValue(msg)
	if depth%3 == 0 {
		body = attribute.MapValue(attribute.String(msg, sval))
	}
	return logtest.RecordFactory{
		Timestamp:    time.Unix(0, ts),
		Severity:     log.Severity(sev),
		SeverityText: sval,
		Body:         body,
		Attributes: []attribute.KeyValue{
			attribute.String(key, sval),
			attribute.Int64(key+"i", ival),
			attribute.Float64(key+"f", fval),
			{Key: attribute.Key(key + "b"), Value: attribute.ByteSliceValue(raw)},
			{Key: attribute.Key(key + "n"), Value: nested},
			attribute.StringSlice(key+"s", []string{msg, sval, key}),
			attribute.String("correlation_id", msg),
			attribute.String("exception.message", sval),
			attribute.String(key, msg), // repeated key: the last one wins
		},
		InstrumentationScope: &instrumentation.Scope{Name: key, Version: msg},
		Resource:             testRes,
	}.NewRecord()
}

func FuzzEncode(f *testing.F) {
	f.Add("hello", "k", "v", int64(1), 1.5, []byte{0}, uint8(3), int8(9), int64(1e18))
	f.Add("\xff\xfe", "\x00", "\u2028\"\\", int64(math.MinInt64), math.NaN(), []byte(nil), uint8(79), int8(-5), int64(-1))
	f.Add("", "", "", int64(0), math.Inf(-1), []byte("\xff"), uint8(0), int8(0), int64(0))
	f.Fuzz(func(t *testing.T, msg, key, sval string, ival int64, fval float64, raw []byte, depth uint8, sev int8, ts int64) {
		rec := fuzzRecord(msg, key, sval, ival, fval, raw, depth, sev, ts)
		var attrs []attribute.KeyValue
		rec.WalkAttributes(func(kv attribute.KeyValue) bool { attrs = append(attrs, kv); return true })

		line := encode(t, Envelope, rec)
		require.NoError(t, envelopetest.Validate(line))
		lg := decode(t, line)["log"].(map[string]any)
		data := lg["data"].(map[string]any)
		if rec.Body().Type() == attribute.STRING {
			assert.Equal(t, string([]rune(msg)), lg["message"])
		} else {
			want := expectJSON(rec.Body(), 0)
			same(t, "body", want, normalize(data["body"], want))
		}
		for _, kv := range attrs {
			k := string(kv.Key)
			if k == "correlation_id" || k == "exception.message" || (k == "body" && rec.Body().Type() != attribute.STRING) {
				continue
			}
			want := expectJSON(kv.Value, 0)
			same(t, k, want, normalize(data[string([]rune(k))], want))
		}
		assert.Equal(t, string([]rune(msg)), lg["context"].(map[string]any)["correlation_id"])

		req := decodeOTLP(t, encode(t, OTLPJSON, rec))
		lr := req.ResourceLogs[0].ScopeLogs[0].LogRecords[0]
		same(t, "otlp attributes", attrsOf(attrs), fromProto(lr.Attributes))
		same(t, "otlp body", expectAny(rec.Body(), 0), anyOf(lr.Body))

		// Batched lines: every line a valid request, every record once,
		// whatever the limit cuts.
		recs := []sdklog.Record{rec, rec, rec}
		limit := 512 + int(uint64(ival)%8192)
		seen := 0
		New(OTLPJSON).AppendOTLPLines(nil, recs, limit, func(line []byte, first, n int) {
			require.Equal(t, seen, first, "lines out of order")
			var req collogs.ExportLogsServiceRequest
			require.NoError(t, protojson.Unmarshal(line, &req), "%.300s", line)
			got := 0
			for _, rl := range req.ResourceLogs {
				for _, sl := range rl.ScopeLogs {
					got += len(sl.LogRecords)
				}
			}
			require.Equal(t, n, got)
			if n > 1 {
				require.LessOrEqual(t, len(line), limit, "a line of several records over the limit")
			}
			seen += n
		})
		require.Equal(t, len(recs), seen)
	})
}

// same compares without testify's diff, which takes minutes on the deeply
// nested values the fuzzer builds.
func same(t *testing.T, what string, want, got any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s does not round-trip:\nwant %.300v\n got %.300v", what, want, got)
	}
}
