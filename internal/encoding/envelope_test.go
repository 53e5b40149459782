package encoding

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"

	"github.com/fapilog/fapilog-otel/internal/envelopetest"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestEnvelopeMapsEveryField(t *testing.T) {
	line := encode(t, Envelope, fullRecord())
	envelopetest.RequireValid(t, line)
	m := decode(t, line)

	assert.Equal(t, "1.1", m["schema_version"])
	lg := m["log"].(map[string]any)
	assert.Equal(t, "2026-11-27T07:34:50.123Z", lg["timestamp"])
	assert.Equal(t, "WARNING", lg["level"])
	assert.Equal(t, "order created", lg["message"])
	assert.Equal(t, "checkout/http", lg["logger"])

	ctx := lg["context"].(map[string]any)
	assert.Regexp(t, uuidV4, ctx["message_id"])
	assert.Equal(t, "corr-1", ctx["correlation_id"])
	assert.Equal(t, "req-1", ctx["request_id"])
	assert.Equal(t, "u-1", ctx["user_id"])
	assert.Equal(t, "t-1", ctx["tenant_id"])
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", ctx["trace_id"])
	assert.Equal(t, "00f067aa0ba902b7", ctx["span_id"])
	assert.Equal(t, "01", ctx["trace_flags"])

	diag := lg["diagnostics"].(map[string]any)
	assert.Equal(t, "checkout", diag["service"])
	assert.Equal(t, "prod", diag["env"])
	assert.Equal(t, "node-7", diag["host"])
	assert.Equal(t, "4242", diag["pid"].(interface{ String() string }).String())
	assert.Equal(t, map[string]any{"service.version": "1.2.3"}, diag["resource"])
	assert.Equal(t, "https://opentelemetry.io/schemas/1.26.0", diag["resource_schema_url"])
	assert.EqualValues(t, "14", diag["severity_number"].(interface{ String() string }).String())
	assert.Equal(t, "WARN", diag["severity_text"])
	assert.Equal(t, "order.created", diag["event_name"])
	assert.Equal(t, "v0.9.0", diag["scope_version"])
	assert.Equal(t, "https://example.com/s", diag["scope_schema_url"])
	assert.Equal(t, map[string]any{"scope.flag": true}, diag["scope_attributes"])
	assert.Equal(t, "2026-11-27T07:34:50.124Z", diag["observed_timestamp"])
	assert.EqualValues(t, "2", diag["dropped_attributes"].(interface{ String() string }).String())
	assert.Equal(t, map[string]any{
		"exception_type": "*errors.errorString", "exception_message": "boom", "stack": "main.go:1",
	}, diag["exception"])

	data := lg["data"].(map[string]any)
	assert.Equal(t, "3", data["items"].(interface{ String() string }).String())
	assert.Equal(t, "NaN", data["ratio"])
	assert.Equal(t, "Infinity", data["up"])
	assert.Equal(t, "-Infinity", data["down"])
	assert.Equal(t, "AAEC/w==", data["raw"])
	assert.Equal(t, []any{"a", "b"}, data["tags"])
	assert.Equal(t, map[string]any{"n": decodeNumber("1"), "list": []any{"x", false}}, data["nested"])
	assert.Contains(t, data, "nothing")
	assert.Nil(t, data["nothing"])
	for _, lifted := range []string{"correlation_id", "request_id", "user_id", "tenant_id", "exception.type"} {
		assert.NotContains(t, data, lifted, "lifted attributes leave data")
	}
}

func TestEnvelopeMinimalRecord(t *testing.T) {
	r := logtest.RecordFactory{ObservedTimestamp: testTime}.NewRecord()
	line := encode(t, Envelope, r)
	envelopetest.RequireValid(t, line)
	lg := decode(t, line)["log"].(map[string]any)
	assert.Equal(t, "INFO", lg["level"])
	assert.Equal(t, "", lg["message"])
	assert.Equal(t, "2026-11-27T07:34:50.123Z", lg["timestamp"], "observed time stands in for a missing time")
	ctx := lg["context"].(map[string]any)
	assert.Contains(t, ctx, "correlation_id")
	assert.Nil(t, ctx["correlation_id"])
	assert.NotContains(t, ctx, "trace_id")
	assert.Equal(t, map[string]any{}, lg["data"])
}

func TestEnvelopeLevels(t *testing.T) {
	cases := []struct {
		sev  log.Severity
		text string
		want string
	}{
		{log.SeverityTrace1, "", "TRACE"}, {log.SeverityTrace4, "", "TRACE"},
		{log.SeverityDebug, "", "DEBUG"}, {log.SeverityInfo, "", "INFO"},
		{log.SeverityInfo4, "", "INFO"}, {log.SeverityWarn, "", "WARNING"},
		{log.SeverityError, "", "ERROR"}, {log.SeverityError4, "", "ERROR"},
		{log.SeverityFatal, "", "CRITICAL"}, {log.SeverityFatal4, "", "CRITICAL"},
		{99, "", "CRITICAL"}, {log.SeverityError, "info", "ERROR"},
		{0, "", "INFO"}, {0, "notice", "NOTICE"}, {0, "warn", "WARNING"},
		{0, "Fatal", "CRITICAL"}, {0, "débug", "DÉBUG"}, {-3, "error", "ERROR"},
		{0, "a\"b\n", "A\"B\n"},
	}
	for _, c := range cases {
		r := logtest.RecordFactory{Timestamp: testTime, Severity: c.sev, SeverityText: c.text}.NewRecord()
		line := encode(t, Envelope, r)
		envelopetest.RequireValid(t, line)
		assert.Equal(t, c.want, decode(t, line)["log"].(map[string]any)["level"], "severity %d text %q", c.sev, c.text)
	}
}

func TestEnvelopeTimestamps(t *testing.T) {
	cases := map[string]time.Time{
		"2026-11-27T07:34:50.000Z": time.Date(2026, 11, 27, 8, 34, 50, 999_999, time.FixedZone("CET", 3600)),
		"0000-01-01T00:00:00.000Z": time.Date(-50, 1, 1, 0, 0, 0, 0, time.UTC),
		"9999-12-31T23:59:59.999Z": time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC),
		"1970-01-01T00:00:00.001Z": time.Unix(0, 1_000_000),
	}
	for want, ts := range cases {
		line := encode(t, Envelope, logtest.RecordFactory{Timestamp: ts}.NewRecord())
		envelopetest.RequireValid(t, line)
		assert.Equal(t, want, decode(t, line)["log"].(map[string]any)["timestamp"])
	}
	before := time.Now().UTC().Truncate(time.Millisecond)
	line := encode(t, Envelope, logtest.RecordFactory{}.NewRecord())
	got, err := time.Parse(time.RFC3339, decode(t, line)["log"].(map[string]any)["timestamp"].(string))
	require.NoError(t, err)
	assert.False(t, got.Before(before), "a record without any time is stamped at encoding")
}

func TestEnvelopeStructuredBody(t *testing.T) {
	r := logtest.RecordFactory{
		Timestamp: testTime,
		Body:      attribute.MapValue(attribute.String("k", "v")),
		Attributes: []attribute.KeyValue{
			attribute.String("body", "attr"),
			attribute.Int("correlation_id", 7), // not a string: stays in data
		},
	}.NewRecord()
	line := encode(t, Envelope, r)
	envelopetest.RequireValid(t, line)
	lg := decode(t, line)["log"].(map[string]any)
	assert.Equal(t, "", lg["message"])
	data := lg["data"].(map[string]any)
	assert.Equal(t, map[string]any{"k": "v"}, data["body"])
	assert.Equal(t, "attr", data["body_attribute"])
	assert.Equal(t, decodeNumber("7"), data["correlation_id"])
	assert.Nil(t, lg["context"].(map[string]any)["correlation_id"])
}

func TestEnvelopeHostileInput(t *testing.T) {
	deep := attribute.StringValue("leaf")
	for range 500 {
		deep = attribute.MapValue(attribute.KeyValue{Key: "d", Value: deep})
	}
	huge := strings.Repeat("x\x00\u2028é\xff", 200_000)
	r := logtest.RecordFactory{
		Timestamp:    testTime,
		Body:         attribute.StringValue("bad \xc3\x28 utf8 \x1b[31m \t\r\n \"quoted\" \\ end"),
		SeverityText: "\xff",
		Attributes: []attribute.KeyValue{
			attribute.String("dup", "first"),
			attribute.String("dup", "second"),
			attribute.String("", "empty key"),
			attribute.String("ctl\x01key\xfe", "v"),
			attribute.String("huge", huge),
			{Key: "deep", Value: deep},
			{Key: "dupmap", Value: attribute.MapValue(attribute.Int("a", 1), attribute.Int("a", 2))},
			attribute.Float64Slice("floats", []float64{math.NaN(), 1e-9, 1e21, math.Copysign(0, -1), math.MaxFloat64}),
			{Key: "empty", Value: attribute.SliceValue()},
			{Key: "emptymap", Value: attribute.MapValue()},
			attribute.BoolSlice("bools", []bool{true, false}),
			attribute.Int64Slice("ints", []int64{math.MinInt64, math.MaxInt64}),
		},
		InstrumentationScope: testScope,
	}
	r.Attributes = append(r.Attributes, manyAttrs(40)...)
	rec := r.NewRecord()
	line := encode(t, Envelope, rec)
	envelopetest.RequireValid(t, line)
	m := decode(t, line)
	lg := m["log"].(map[string]any)
	assert.Equal(t, "bad \ufffd( utf8 \x1b[31m \t\r\n \"quoted\" \\ end", lg["message"])
	assert.Equal(t, "\ufffd", lg["level"])
	data := lg["data"].(map[string]any)
	assert.Equal(t, "second", data["dup"], "the last of repeated keys wins, as in the SDK")
	assert.NotContains(t, data, "", "the SDK drops attributes with empty keys")
	assert.Equal(t, "v", data["ctl\x01key\ufffd"])
	assert.True(t, string([]rune(huge)) == data["huge"], "huge string does not round-trip")
	assert.True(t, assert.ObjectsAreEqual(expectJSON(deep, 0), normalize(data["deep"], expectJSON(deep, 0))), "deep value does not round-trip")
	assert.Len(t, data["dupmap"], 1)
	assert.Equal(t, []any{"NaN", 1e-9, 1e21, 0.0, math.MaxFloat64}, normalize(data["floats"], []any{"NaN", 0.0, 0.0, 0.0, 0.0}))
	assert.Equal(t, []any{}, data["empty"])
	assert.Equal(t, map[string]any{}, data["emptymap"])
	assert.Equal(t, []any{decodeNumber("-9223372036854775808"), decodeNumber("9223372036854775807")}, data["ints"])
	for _, kv := range manyAttrs(40) {
		if _, ok := data[string(kv.Key)]; !ok {
			t.Errorf("attribute %q missing from data", kv.Key)
		}
	}
	// Raw bytes: U+2028 must be escaped, no raw control byte may remain.
	assert.NotContains(t, string(line), "\u2028")
	for _, c := range line {
		assert.False(t, c < 0x20, "raw control byte %#x in output", c)
	}
}

// manyAttrs returns n attributes with repeats, past the linear
// de-duplication limit.
func manyAttrs(n int) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, n+2)
	for i := range n {
		out = append(out, attribute.Int("k"+string(rune('a'+i%26))+string(rune('a'+i/26)), i))
	}
	return append(out, attribute.Int("ka", -1))
}

func TestEnvelopeMessageIDsUnique(t *testing.T) {
	enc := New(Envelope)
	r := logtest.RecordFactory{Timestamp: testTime}.NewRecord()
	seen := map[string]bool{}
	for range 10000 {
		id := decode(t, enc.Append(nil, &r))["log"].(map[string]any)["context"].(map[string]any)["message_id"].(string)
		require.Regexp(t, uuidV4, id)
		require.False(t, seen[id], "message_id repeated")
		seen[id] = true
	}
}

// A string log.record.uid is the envelope's message_id and is not
// repeated in data; the last one wins when the key repeats; another type
// stays an ordinary attribute. OTLP/JSON keeps it as the attribute it is.
func TestRecordUIDIsTheMessageID(t *testing.T) {
	const uid = "0190f5c2-7a3b-7c4d-8e5f-a1b2c3d4e5f6"
	ctx := func(line []byte) (map[string]any, map[string]any) {
		l := decode(t, line)["log"].(map[string]any)
		data, _ := l["data"].(map[string]any)
		return l["context"].(map[string]any), data
	}
	r := logtest.RecordFactory{Timestamp: testTime, Attributes: []attribute.KeyValue{
		attribute.String("k", "v"), attribute.String(string(RecordUIDKey), uid)}}.NewRecord()
	c, data := ctx(encode(t, Envelope, r))
	assert.Equal(t, uid, c["message_id"])
	assert.NotContains(t, data, string(RecordUIDKey))
	assert.Equal(t, "v", data["k"])

	r = logtest.RecordFactory{Timestamp: testTime, Attributes: []attribute.KeyValue{
		attribute.String(string(RecordUIDKey), "first"), attribute.String("k", "v"), attribute.String(string(RecordUIDKey), uid)}}.NewRecord()
	c, data = ctx(encode(t, Envelope, r))
	assert.Equal(t, uid, c["message_id"], "repeated key: the last one, as the SDK keeps")
	assert.NotContains(t, data, string(RecordUIDKey))

	r = logtest.RecordFactory{Timestamp: testTime, Attributes: []attribute.KeyValue{attribute.Int(string(RecordUIDKey), 7)}}.NewRecord()
	c, data = ctx(encode(t, Envelope, r))
	assert.Regexp(t, uuidV4, c["message_id"])
	assert.EqualValues(t, decodeNumber("7"), data[string(RecordUIDKey)])

	r = logtest.RecordFactory{Timestamp: testTime, Attributes: []attribute.KeyValue{attribute.String(string(RecordUIDKey), uid)}}.NewRecord()
	req := decodeOTLP(t, encode(t, OTLPJSON, r))
	attrs := req.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Attributes
	require.Len(t, attrs, 1)
	assert.Equal(t, uid, attrs[0].Value.GetStringValue())
}

// Records alternating between seconds, and a record whose two times are a
// day and a half apart, each get their own seconds right (the per-second
// caches must not leak one time's text into the other).
func TestEnvelopeTimestampsAcrossSeconds(t *testing.T) {
	enc := New(Envelope)
	var buf []byte
	for i := range 20 {
		ts := testTime.Add(time.Duration(i%3) * 1001 * time.Millisecond)
		obs := ts.Add(36*time.Hour + time.Duration(i)*time.Millisecond)
		r := logtest.RecordFactory{Timestamp: ts, ObservedTimestamp: obs}.NewRecord()
		buf = enc.Append(buf[:0], &r)
		m := decode(t, buf)
		assert.Equal(t, ts.UTC().Format("2006-01-02T15:04:05.000Z"), m["log"].(map[string]any)["timestamp"], "record %d", i)
		assert.Equal(t, obs.UTC().Format("2006-01-02T15:04:05.000Z"), m["log"].(map[string]any)["diagnostics"].(map[string]any)["observed_timestamp"], "record %d", i)
	}
}

// Every millisecond of a second comes out right through the cached second
// (the digits after it are written from a table, not the cache).
func TestEnvelopeTimestampMilliseconds(t *testing.T) {
	enc := New(Envelope)
	var buf []byte
	for ms := range 1000 {
		ts := testTime.Truncate(time.Second).Add(time.Duration(ms)*time.Millisecond + 999_999)
		r := logtest.RecordFactory{Timestamp: ts}.NewRecord()
		buf = enc.Append(buf[:0], &r)
		require.Equal(t, ts.UTC().Format("2006-01-02T15:04:05.000Z"), decode(t, buf)["log"].(map[string]any)["timestamp"])
	}
}

func TestHexMatchesEncodingHex(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 100_000 {
		v := r.Uint32()
		if i < 16 {
			v = uint32(i) * 0x11111111 // every digit alike, 0 to f
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], hex8(v))
		require.Equal(t, fmt.Sprintf("%08x", v), string(b[:]))
	}
	for n := range 21 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		assert.Equal(t, hex.EncodeToString(b), string(appendHex([]byte{}, b)), "%d bytes", n)
	}
}

// A trace id without a valid span id writes the trace id and flags only.
func TestEnvelopeTraceWithoutSpan(t *testing.T) {
	line := encode(t, Envelope, logtest.RecordFactory{Timestamp: testTime, TraceID: testTraceID, TraceFlags: 0xa5}.NewRecord())
	envelopetest.RequireValid(t, line)
	ctx := decode(t, line)["log"].(map[string]any)["context"].(map[string]any)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", ctx["trace_id"])
	assert.NotContains(t, ctx, "span_id")
	assert.Equal(t, "a5", ctx["trace_flags"])
}
