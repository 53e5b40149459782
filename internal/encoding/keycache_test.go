package encoding

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	"go.opentelemetry.io/otel/sdk/resource"
)

var randomID = regexp.MustCompile(`"message_id":"[0-9a-f-]{36}"`)

// keyCacheRecords are records whose keys exercise every way through the
// key cache: constants met again and again, the same names built afresh
// for each record (equal contents, new pointers), more distinct keys than
// the cache holds (it empties itself mid-record), keys too long to cache,
// keys that need escaping, the envelope's special names with string and
// other values, and "body" beside a structured body.
func keyCacheRecords() []logtest.RecordFactory {
	var recs []logtest.RecordFactory
	long := strings.Repeat("k", keyEncMax+1)
	for i := range 12 {
		attrs := []attribute.KeyValue{
			attribute.String("http.method", "GET"),
			attribute.String(fmt.Sprintf("dyn.%d", i%3), "v"),
			attribute.String(long, "long"),
			attribute.String("quote\"key\n", "escaped"),
			attribute.String("exception.type", "E"),
			attribute.String("exception.other", "x"),
			attribute.String("body", "attr"),
			attribute.String(string(RecordUIDKey), fmt.Sprintf("uid-%d", i)),
		}
		if i%2 == 0 {
			attrs = append(attrs, attribute.Int("request_id", i), attribute.String("tenant_id", "t"))
		} else {
			attrs = append(attrs, attribute.String("request_id", "r"), attribute.Bool("tenant_id", true))
		}
		for j := range 20 { // 12 records × 20 fresh names: the cache fills and empties
			attrs = append(attrs, attribute.Int(fmt.Sprintf("k%d.%d", i, j), j))
		}
		body := attribute.StringValue("m")
		if i%3 == 0 {
			body = attribute.MapValue(attribute.Int("n", i))
		}
		recs = append(recs, logtest.RecordFactory{Timestamp: testTime, ObservedTimestamp: testTime, Body: body, Attributes: attrs})
	}
	// A non-string uid leaves message_id random; mask it before comparing.
	recs = append(recs, logtest.RecordFactory{Timestamp: testTime, ObservedTimestamp: testTime, Attributes: []attribute.KeyValue{
		attribute.Int(string(RecordUIDKey), 7), attribute.String("http.method", "PUT"),
	}})
	return recs
}

// An encoder whose key cache is warm writes exactly what the walk that
// uses no cache writes, record after record, in both formats. That walk
// is the fallback for records with a repeated key, so each record is
// compared with itself plus a repeat of its last attribute, which the
// fallback drops again.
func TestKeyCacheChangesNothing(t *testing.T) {
	recs := keyCacheRecords()
	for _, f := range []Format{Envelope, OTLPJSON} {
		warm := New(f)
		var buf, want []byte
		for pass := range 3 {
			for i, rf := range recs {
				rec := rf.NewRecord()
				require.LessOrEqual(t, rec.AttributesLen()+1, dedupTableMax, "more would take the fallback for its size")
				buf = warm.Append(buf[:0], &rec)
				repeated := withRepeatedLast(t, rf)
				want = warm.Append(want[:0], &repeated)
				require.Equal(t, string(randomID.ReplaceAll(want, nil)), string(randomID.ReplaceAll(buf, nil)), "%s pass %d record %d", f, pass, i)
				if f == Envelope {
					decode(t, buf)
				}
			}
		}
	}
}

// The table never grows past its bounds, whatever keys it is given, and a
// key it answers for is written out right.
func TestKeyCacheBounds(t *testing.T) {
	var c keyCache
	answered := 0
	for i := range 10 * keyBypass {
		k := attribute.Key(fmt.Sprintf("key-%d-%s", i, strings.Repeat("x", i%40)))
		if e := c.lookup(k, Envelope); e != nil {
			require.Equal(t, `"`+string(k)+`":`, string(c.bytes(e)))
			answered++
		}
		require.LessOrEqual(t, c.count, keyCacheMax)
		require.LessOrEqual(t, cap(c.arena), keyArenaSize)
	}
	require.NotZero(t, answered)
	require.Nil(t, c.lookup("", Envelope))
	c.bypass = 0
	require.Nil(t, c.lookup(attribute.Key(strings.Repeat("k", keyEncMax)), Envelope))
	require.Nil(t, c.lookup("needs\\escaping", Envelope))
}

// Keys made afresh for every record fill the table within a few lookups
// per key: it then stops caching for keyBypass lookups, each answered
// without probing or adding, and tries again after.
func TestKeyCacheStepsAsideForFreshKeys(t *testing.T) {
	var c keyCache
	fresh := func(i int) attribute.Key { return attribute.Key(fmt.Sprintf("fresh-%d", i)) }
	for i := range keyCacheMax {
		require.NotNil(t, c.lookup(fresh(i), Envelope), "key %d", i)
	}
	require.Nil(t, c.lookup(fresh(keyCacheMax), Envelope), "the full, churning table stepped aside")
	require.Equal(t, keyBypass, c.bypass)
	require.Zero(t, c.count)
	for i := range keyBypass {
		require.Nil(t, c.lookup(fresh(i), Envelope))
	}
	require.NotNil(t, c.lookup(fresh(0), Envelope), "caching again after the bypass")
}

// A program's constant keys keep the table caching, even with a fresh key
// now and then beside them.
func TestKeyCacheKeepsConstantKeys(t *testing.T) {
	var c keyCache
	constant := make([]attribute.Key, 10)
	for i := range constant {
		constant[i] = attribute.Key(fmt.Sprintf("constant.%d", i))
	}
	for round := range 10_000 {
		for _, k := range constant {
			require.NotNil(t, c.lookup(k, Envelope))
		}
		if round%10 == 0 {
			c.lookup(attribute.Key(fmt.Sprintf("now-and-then-%d", round)), Envelope)
		}
	}
	require.Zero(t, c.bypass)
}

// lookup is hit, then miss, as the walk does them.
func (c *keyCache) lookup(k attribute.Key, format Format) *keyEntry {
	if e := c.hit(k); e != nil {
		return e
	}
	return c.miss(k, format)
}

// withRepeatedLast returns rf's record with its last attribute once more:
// the SDK de-duplicates attributes unless a provider allows repeats, so the
// record comes from such a provider.
func withRepeatedLast(t *testing.T, rf logtest.RecordFactory) sdklog.Record {
	t.Helper()
	var got []sdklog.Record
	provider := sdklog.NewLoggerProvider(sdklog.WithAllowKeyDuplication(), sdklog.WithResource(resource.Empty()),
		sdklog.WithProcessor(captureProcessor(func(r *sdklog.Record) { got = append(got, r.Clone()) })))
	defer func() { _ = provider.Shutdown(context.Background()) }()
	var r log.Record
	r.SetTimestamp(rf.Timestamp)
	r.SetObservedTimestamp(rf.Timestamp)
	r.SetBody(rf.Body)
	r.AddAttributes(rf.Attributes...)
	r.AddAttributes(rf.Attributes[len(rf.Attributes)-1])
	provider.Logger("").Emit(context.Background(), r)
	require.Len(t, got, 1)
	require.Equal(t, len(rf.Attributes)+1, got[0].AttributesLen())
	return got[0]
}

type captureProcessor func(*sdklog.Record)

func (c captureProcessor) OnEmit(_ context.Context, r *sdklog.Record) error {
	c(r)
	return nil
}
func (captureProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (captureProcessor) Shutdown(context.Context) error                         { return nil }
func (captureProcessor) ForceFlush(context.Context) error                       { return nil }
