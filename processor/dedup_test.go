package processor_test

import (
	"bytes"
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/processor"
)

// dedupCases are records as an application emits them: most with unique
// keys, some with duplicates at the top level and inside nested values.
func dedupCases() []log.Record {
	at := time.Date(2026, 11, 29, 1, 2, 3, 0, time.UTC)
	mk := func(kvs ...attribute.KeyValue) log.Record {
		var r log.Record
		r.SetTimestamp(at)
		r.SetObservedTimestamp(at)
		r.SetSeverity(log.SeverityInfo)
		r.SetBody(attribute.StringValue("order placed"))
		r.AddAttributes(kvs...)
		return r
	}
	ten := []attribute.KeyValue{
		attribute.String("a", "1"), attribute.Int("b", 2), attribute.Bool("c", true), attribute.Float64("d", 1.5),
		attribute.String("e", "5"), attribute.String("f", "6"), attribute.String("g", "7"), attribute.String("h", "8"),
		attribute.String("i", "9"), attribute.String("j", "10"),
	}
	return []log.Record{
		mk(ten...),
		mk(attribute.String("user_id", "u-1")),
		mk(),
		mk(attribute.Map("m", attribute.String("x", "1"), attribute.String("y", "2"))),
		// Duplicates: the last value wins, at the first position.
		mk(attribute.String("a", "first"), attribute.Int("b", 1), attribute.String("a", "last")),
		mk(append(append([]attribute.KeyValue{}, ten...), attribute.String("c", "again"))...),
		mk(attribute.Map("m", attribute.String("x", "1"), attribute.String("x", "2"))),
		mk(attribute.Slice("s", attribute.MapValue(attribute.Int("k", 1), attribute.Int("k", 2)))),
	}
}

func emitAll(t *testing.T, format bridge.Format, opts ...sdklog.LoggerProviderOption) []byte {
	t.Helper()
	var out bytes.Buffer
	exp, err := stdoutjson.New(stdoutjson.WithWriter(&out), stdoutjson.WithExporterOptions(bridge.WithFormat(format)))
	require.NoError(t, err)
	provider := sdklog.NewLoggerProvider(append(opts, sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))...)
	logger := provider.Logger("dedup")
	for _, r := range dedupCases() {
		logger.Emit(context.Background(), r)
	}
	require.NoError(t, provider.Shutdown(context.Background()))
	return out.Bytes()
}

var messageID = regexp.MustCompile(`"message_id":"[0-9a-f-]{36}"`)

// The fast setup writes the same bytes as the SDK's default, records with
// duplicate keys included (the SDK does not count a removed duplicate as a
// dropped attribute).
func TestDedupFastPathMatchesDefaultOutput(t *testing.T) {
	for _, format := range []bridge.Format{bridge.FormatEnvelope, bridge.FormatOTLPJSON} {
		def := emitAll(t, format)
		fast := emitAll(t, format, sdklog.WithAllowKeyDuplication(), sdklog.WithProcessor(processor.NewDedup()))
		def = messageID.ReplaceAll(def, []byte(`"message_id":"-"`))
		fast = messageID.ReplaceAll(fast, []byte(`"message_id":"-"`))
		defLines := bytes.Split(def, []byte("\n"))
		fastLines := bytes.Split(fast, []byte("\n"))
		require.Len(t, defLines, len(dedupCases())+1, "a line per record and the last newline")
		require.Len(t, fastLines, len(defLines))
		for i := range defLines {
			assert.Equal(t, string(defLines[i]), string(fastLines[i]), "%v record %d: not byte-identical", format, i)
		}
	}
}

// The one difference Dedup's doc names, pinned down so that a change of
// the SDK's shows: a record with duplicate keys and more attributes than
// the count limit. The SDK de-duplicates and then
// applies the limit; with duplication allowed it applies the limit first,
// so duplicates take places that later attributes would have kept.
func TestDedupPastTheAttributeCountLimit(t *testing.T) {
	attrs := func(opts ...sdklog.LoggerProviderOption) ([]string, int) {
		var got []string
		dropped := -1
		p := sdklog.NewLoggerProvider(append(opts,
			sdklog.WithAttributeCountLimit(3),
			sdklog.WithProcessor(sdklog.NewSimpleProcessor(exporterFunc(func(rs []sdklog.Record) {
				rs[0].WalkAttributes(func(kv attribute.KeyValue) bool { got = append(got, string(kv.Key)+"="+kv.Value.String()); return true })
				dropped = rs[0].DroppedAttributes()
			}))))...)
		var r log.Record
		r.AddAttributes(attribute.String("a", "1"), attribute.String("b", "2"), attribute.String("a", "3"), attribute.String("c", "4"))
		p.Logger("x").Emit(context.Background(), r)
		return got, dropped
	}
	got, dropped := attrs()
	assert.Equal(t, []string{"a=3", "b=2", "c=4"}, got, "the SDK's default: de-duplicated, then limited")
	assert.Zero(t, dropped)
	got, dropped = attrs(sdklog.WithAllowKeyDuplication(), sdklog.WithProcessor(processor.NewDedup()))
	assert.Equal(t, []string{"a=3", "b=2"}, got, "the fast setup: limited, then de-duplicated")
	assert.Zero(t, dropped, "c is dropped, and rewriting the attributes reset the count (the documented limitation)")
}

// exporterFunc is an exporter calling f with each Export's records.
type exporterFunc func([]sdklog.Record)

func (f exporterFunc) Export(_ context.Context, rs []sdklog.Record) error { f(rs); return nil }
func (exporterFunc) ForceFlush(context.Context) error                     { return nil }
func (exporterFunc) Shutdown(context.Context) error                       { return nil }

// keysSeen records the keys every record carries when it reaches it.
type keysSeen struct {
	mu   sync.Mutex
	keys [][]string
}

func (k *keysSeen) OnEmit(_ context.Context, r *sdklog.Record) error {
	var ks []string
	r.WalkAttributes(func(kv attribute.KeyValue) bool { ks = append(ks, string(kv.Key)+"="+kv.Value.String()); return true })
	k.mu.Lock()
	k.keys = append(k.keys, ks)
	k.mu.Unlock()
	return nil
}
func (*keysSeen) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (*keysSeen) ForceFlush(context.Context) error                       { return nil }
func (*keysSeen) Shutdown(context.Context) error                         { return nil }

// Processors after Dedup (otlploghttp's among them) see unique keys, as
// they would from the SDK's default; without it they would not.
func TestDedupGivesLaterProcessorsUniqueKeys(t *testing.T) {
	seen := func(opts ...sdklog.LoggerProviderOption) [][]string {
		k := &keysSeen{}
		p := sdklog.NewLoggerProvider(append(opts, sdklog.WithProcessor(k))...)
		var r log.Record
		r.AddAttributes(attribute.String("a", "first"), attribute.Int("b", 1), attribute.String("a", "last"))
		p.Logger("x").Emit(context.Background(), r)
		return k.keys
	}
	want := [][]string{{"a=last", "b=1"}}
	assert.Equal(t, want, seen(), "the SDK's default")
	assert.Equal(t, want, seen(sdklog.WithAllowKeyDuplication(), sdklog.WithProcessor(processor.NewDedup())), "the fast setup")
	assert.Equal(t, [][]string{{"a=first", "b=1", "a=last"}}, seen(sdklog.WithAllowKeyDuplication()), "without Dedup")
}
