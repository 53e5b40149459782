package processor

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// protoExporter encodes each batch as OTLP protobuf, as otlploghttp and
// otlploggrpc do, and fails the whole batch when the encoding refuses it
// (a string that is not UTF-8). It keeps what it exported, decoded back.
type protoExporter struct {
	mu    sync.Mutex
	calls int
	got   []*logspb.LogRecord
}

func (e *protoExporter) Export(_ context.Context, recs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	sl := &logspb.ScopeLogs{}
	for i := range recs {
		sl.LogRecords = append(sl.LogRecords, toProto(&recs[i]))
	}
	wire, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{sl}}}})
	if err != nil {
		return err
	}
	var back logspb.LogsData
	if err := proto.Unmarshal(wire, &back); err != nil {
		return err
	}
	e.got = append(e.got, back.ResourceLogs[0].ScopeLogs[0].LogRecords...)
	return nil
}

func (e *protoExporter) ForceFlush(context.Context) error { return nil }
func (e *protoExporter) Shutdown(context.Context) error   { return nil }

// toProto is the part of the OTLP conversion that carries strings.
func toProto(r *sdklog.Record) *logspb.LogRecord {
	lr := &logspb.LogRecord{
		Body:         anyValue(r.Body()),
		EventName:    r.EventName(),
		SeverityText: r.SeverityText(),
	}
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		lr.Attributes = append(lr.Attributes, &common.KeyValue{Key: string(kv.Key), Value: anyValue(kv.Value)})
		return true
	})
	return lr
}

func anyValue(v attribute.Value) *common.AnyValue {
	switch v.Type() {
	case attribute.EMPTY:
		return nil
	case attribute.STRING:
		return &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: v.AsString()}}
	case attribute.INT64:
		return &common.AnyValue{Value: &common.AnyValue_IntValue{IntValue: v.AsInt64()}}
	case attribute.STRINGSLICE:
		arr := &common.ArrayValue{}
		for _, s := range v.AsStringSlice() {
			arr.Values = append(arr.Values, anyValue(attribute.StringValue(s)))
		}
		return &common.AnyValue{Value: &common.AnyValue_ArrayValue{ArrayValue: arr}}
	case attribute.SLICE:
		arr := &common.ArrayValue{}
		for _, e := range v.AsSlice() {
			arr.Values = append(arr.Values, anyValue(e))
		}
		return &common.AnyValue{Value: &common.AnyValue_ArrayValue{ArrayValue: arr}}
	case attribute.MAP:
		kvs := &common.KeyValueList{}
		for _, kv := range v.AsMap() {
			kvs.Values = append(kvs.Values, &common.KeyValue{Key: string(kv.Key), Value: anyValue(kv.Value)})
		}
		return &common.AnyValue{Value: &common.AnyValue_KvlistValue{KvlistValue: kvs}}
	default:
		return &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: v.String()}}
	}
}

// notUTF8 builds the record with seq i: every 100 records, one string that
// is not UTF-8 in each place a record holds strings, through fix (the
// identity when building what is emitted, the expected repair when
// building what must arrive).
func notUTF8(i int, fix func(string) string) (body attribute.Value, event, sevText string, attrs []attribute.KeyValue) {
	body = attribute.StringValue(fix("body"))
	attrs = []attribute.KeyValue{attribute.Int("seq", i), attribute.String("clean", "héllo ✓")}
	switch i % 100 {
	case 10:
		body = attribute.StringValue(fix("body \xff\xfe end"))
	case 20:
		attrs = append(attrs, attribute.String("a", fix("v\xfe\xfd")))
	case 30:
		attrs = append(attrs, attribute.String(fix("k\xff"), "x"))
	case 40:
		attrs = append(attrs, attribute.Map("m", attribute.String(fix("in\xff"), fix("v\xff")), attribute.Int("n", 1)))
	case 50:
		attrs = append(attrs, attribute.Slice("s", attribute.StringValue("ok"), attribute.StringValue(fix("cut \xc3"))))
	case 60:
		attrs = append(attrs, attribute.StringSlice("ss", []string{"ok", fix("b\x80")}))
	case 70:
		event = fix("ev\xff")
	case 80:
		sevText = fix("INFO\xed\xa0\x80") // a surrogate half: not UTF-8
	}
	return body, event, sevText, attrs
}

// viaJSON is the oracle for the repair: what encoding/json makes of s.
func viaJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// A record holding a string that is not UTF-8 makes a protobuf-encoding
// exporter fail its whole batch. At default settings, Batch repairs the
// strings of the batch it tried and tries it again at once: every record
// arrives, in order, the repaired ones with U+FFFD where the bad bytes
// were and the others unchanged, in two attempts per batch. Without the
// repair, the record would be isolated by halving and given up only after
// the 5-minute retry budget, holding the flush past its deadline.
func TestBatchRepairsStringsThatAreNotUTF8(t *testing.T) {
	const n = 1000
	exp := &protoExporter{}
	reports := &reportLog{}
	b := NewBatch(exp, WithBatchErrorHandler(reports.handle))
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(b))
	logger := provider.Logger("utf8")
	for i := range n {
		body, event, sevText, attrs := notUTF8(i, func(s string) string { return s })
		var rec log.Record
		rec.SetBody(body)
		rec.SetEventName(event)
		rec.SetSeverityText(sevText)
		rec.AddAttributes(attrs...)
		logger.Emit(context.Background(), rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, provider.ForceFlush(ctx), "no record may be lost")

	exp.mu.Lock()
	got, calls := exp.got, exp.calls
	exp.mu.Unlock()
	require.Len(t, got, n)
	for i, lr := range got {
		body, event, sevText, attrs := notUTF8(i, viaJSON)
		want := logtest.RecordFactory{Body: body, EventName: event, SeverityText: sevText, Attributes: attrs}.NewRecord()
		require.True(t, proto.Equal(toProto(&want), lr), "record %d:\n got %v\nwant %v", i, lr, toProto(&want))
	}
	assert.Equal(t, 4, calls, "each of the two batches fails once and goes through repaired")

	repaired := 0
	for _, err := range reports.all() {
		if m := regexp.MustCompile(`(\d+) records held strings that are not UTF-8`).FindStringSubmatch(err.Error()); m != nil {
			k, _ := strconv.Atoi(m[1])
			repaired += k
			assert.Contains(t, err.Error(), "invalid UTF-8", "the report carries the exporter's error")
		}
	}
	assert.Equal(t, 80, repaired, "every repaired record reported, by the flush at the latest")
	assert.Zero(t, b.Dropped())
	require.NoError(t, provider.Shutdown(context.Background()))
}

// The repair makes of the bad bytes what our encoder makes of them: our
// own exporters' lines, read back, are the same, repaired or not.
func TestRepairKeepsOurEncodersOutput(t *testing.T) {
	enc := encoding.New(encoding.OTLPJSON)
	decoded := func(line []byte) any {
		var v any
		require.NoError(t, json.Unmarshal(line, &v), "%s", line)
		return v
	}
	for i := 0; i < 100; i += 10 {
		body, event, sevText, attrs := notUTF8(i, func(s string) string { return s })
		r := logtest.RecordFactory{Body: body, EventName: event, SeverityText: sevText, Attributes: attrs}.NewRecord()
		before := decoded(enc.Append(nil, &r))
		fixed := r.Clone()
		changed := repairRecord(&fixed)
		assert.Equal(t, i != 0 && i != 90, changed, "record %d", i)
		assert.Equal(t, before, decoded(enc.Append(nil, &fixed)), "record %d", i)
	}
}

// A record whose strings are UTF-8 is left as it is.
func TestRepairLeavesValidRecordsAlone(t *testing.T) {
	r := logtest.RecordFactory{
		Body:         attribute.MapValue(attribute.String("k", "ü"), attribute.Slice("s", attribute.StringValue("✓"))),
		EventName:    "event",
		SeverityText: "INFO",
		Attributes: []attribute.KeyValue{
			attribute.String("a", "b"), attribute.StringSlice("ss", []string{"x", "y"}),
			attribute.Map("m", attribute.String("in", "v")), attribute.Int("n", 1),
		},
	}.NewRecord()
	want := r.Clone()
	if repairRecord(&r) {
		t.Fatal("a valid record was reported changed")
	}
	assert.Equal(t, toProto(&want).String(), toProto(&r).String())
}

// FuzzRepairString: the result is UTF-8, is what encoding/json makes of
// the input, and is the input itself when that was UTF-8.
func FuzzRepairString(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got, changed := repairString(s)
		if !utf8.ValidString(got) {
			t.Fatalf("repairString(%q) = %q: not UTF-8", s, got)
		}
		if changed == utf8.ValidString(s) {
			t.Fatalf("repairString(%q) reported changed=%v", s, changed)
		}
		if !changed && got != s {
			t.Fatalf("repairString(%q) = %q: a valid string was changed", s, got)
		}
		if want := viaJSON(s); got != want {
			t.Fatalf("repairString(%q) = %q, encoding/json makes %q", s, got, want)
		}
	})
}

// An error the exporter marks final is not retried, repair or not: a
// bridge exporter says so when it wrote part of the batch, which a second
// Export would write again.
func TestBatchDoesNotRepairAfterAFinalError(t *testing.T) {
	exp := &recExporter{failFor: func(call int) error {
		if call == 0 {
			return finalErr{}
		}
		return nil
	}}
	b := NewBatch(exp, WithMaxExportBatchSize(10), WithBatchErrorHandler(func(error) {}))
	for i := range 10 {
		r := logtest.RecordFactory{Body: attribute.StringValue("not UTF-8: \xff"),
			Attributes: []attribute.KeyValue{attribute.Int("seq", i)}}.NewRecord()
		require.NoError(t, b.OnEmit(context.Background(), &r))
	}
	err := b.ForceFlush(context.Background())
	require.ErrorContains(t, err, "10 entries lost")
	assert.Equal(t, 1, exp.calls(), "the batch was exported again after a final error")
	assert.EqualValues(t, 10, b.Dropped())
	require.NoError(t, b.Shutdown(context.Background()))
}
