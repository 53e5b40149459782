package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/internal/envelopetest"
)

// bigRecords: a huge body; many mid-sized attributes; a huge nested value.
func bigRecords() []sdklog.Record {
	many := make([]attribute.KeyValue, 8000)
	for i := range many {
		many[i] = attribute.String(fmt.Sprintf("k%05d", i), strings.Repeat("v", 200))
	}
	return []sdklog.Record{
		logtest.RecordFactory{Body: attribute.StringValue(strings.Repeat("é", 2<<20)),
			Attributes: []attribute.KeyValue{attribute.String("user_id", "u-1")}}.NewRecord(),
		logtest.RecordFactory{Body: attribute.StringValue("many"), Attributes: many}.NewRecord(),
		logtest.RecordFactory{Body: attribute.StringValue("nested"), Attributes: []attribute.KeyValue{
			attribute.Map("m", attribute.String("x", strings.Repeat("x", 3<<20)), attribute.StringSlice("s", []string{strings.Repeat("y", 1<<20)})),
		}}.NewRecord(),
		logtest.RecordFactory{Body: attribute.StringValue("small"), Attributes: []attribute.KeyValue{attribute.Int("n", 1)}}.NewRecord(),
	}
}

// An oversized record is cut visibly to the limit, never split or dropped.
func TestOversizedEntriesAreTruncatedVisibly(t *testing.T) {
	for _, c := range []struct {
		format bridge.Format
		limit  int
	}{
		{bridge.FormatEnvelope, bridge.DefaultMaxEntryBytes},
		{bridge.FormatOTLPJSON, bridge.DefaultMaxEntryBytes},
		{bridge.FormatEnvelope, 8 << 10},
	} {
		s := &copySink{}
		opts := []bridge.Option{bridge.WithFormat(c.format)}
		if c.limit != bridge.DefaultMaxEntryBytes {
			opts = append(opts, bridge.WithMaxEntryBytes(c.limit))
		}
		e := newExporter(t, s, opts...)
		require.NoError(t, e.Export(context.Background(), bigRecords()))
		require.Len(t, s.entries, 4, "nothing split or dropped")
		for i, entry := range s.entries[:3] {
			assert.Less(t, len(entry)+1, c.limit+1, "%v entry %d is %d bytes", c.format, i, len(entry))
			var v any
			require.NoError(t, json.Unmarshal(entry, &v), "%v entry %d is not JSON", c.format, i)
			assert.Contains(t, string(entry), bridge.TruncatedKey, "the cut is visible")
			assert.Contains(t, string(entry), bridge.OriginalBytesKey)
			if c.format == bridge.FormatEnvelope {
				require.NoError(t, envelopetest.Validate(entry))
			}
		}
		assert.Contains(t, string(s.entries[0]), "u-1", "short values survive the cut")
		assert.NotContains(t, string(s.entries[3]), bridge.TruncatedKey, "small records are untouched")
		assert.EqualValues(t, 3, e.Truncated())
		require.NoError(t, e.Shutdown(context.Background()))
	}
}

func TestMaxEntryBytesValidated(t *testing.T) {
	_, err := bridge.NewExporter(&recSink{}, bridge.WithMaxEntryBytes(100))
	assert.ErrorContains(t, err, "WithMaxEntryBytes(100)")
	_, err = bridge.NewExporter(&recSink{}, bridge.WithMaxEntryBytes(-1))
	assert.ErrorContains(t, err, "WithMaxEntryBytes(-1)")
}

// copySink keeps a copy of every entry.
type copySink struct{ entries [][]byte }

func (s *copySink) Write(_ context.Context, entry []byte) error {
	s.entries = append(s.entries, append([]byte(nil), entry...))
	return nil
}
