package bridge_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	"go.opentelemetry.io/otel/sdk/resource"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/internal/testrecords"
)

// mixedRecords: runs of records from two resources and three scopes, one of
// them far over any line limit.
func mixedRecords(n int) []sdklog.Record {
	resA := resource.NewSchemaless(attribute.String("service.name", "a"))
	resB := resource.NewSchemaless(attribute.String("service.name", "b"))
	scopes := []*instrumentation.Scope{{Name: "scope-0"}, {Name: "scope-1"}, {Name: "scope-2", Version: "1.0"}}
	out := make([]sdklog.Record, n)
	for i := range out {
		f := logtest.RecordFactory{
			Body:       attribute.StringValue(fmt.Sprintf("record %d", i)),
			Attributes: append(testrecords.TenAttributes(), attribute.Int("seq", i)),
			Resource:   resA,
		}
		if (i/100)%2 == 1 {
			f.Resource = resB
		}
		f.InstrumentationScope = scopes[(i/30)%3]
		if i == n/2 {
			f.Body = attribute.StringValue(strings.Repeat("h", 2<<20))
		}
		out[i] = f.NewRecord()
	}
	return out
}

// With WithOTLPBatchLines, each entry is one request holding many records,
// grouped by resource and scope, every record once and in order, each line
// under the limit, and protojson reads every line.
func TestOTLPBatchLines(t *testing.T) {
	for _, limit := range []int{bridge.DefaultMaxEntryBytes, 8 << 10} {
		s := &copySink{}
		e := newExporter(t, s, bridge.WithFormat(bridge.FormatOTLPJSON), bridge.WithOTLPBatchLines(), bridge.WithMaxEntryBytes(limit))
		const n = 2000
		require.NoError(t, e.Export(context.Background(), mixedRecords(n)))
		assert.Less(t, len(s.entries), n/4, "lines hold many records")
		seq := 0
		for i, line := range s.entries {
			require.Less(t, len(line)+1, limit+1, "line %d is %d bytes", i, len(line))
			var req collogs.ExportLogsServiceRequest
			require.NoError(t, protojson.Unmarshal(line, &req), "line %d", i)
			for _, rl := range req.ResourceLogs {
				svc := rl.Resource.Attributes[0].Value.GetStringValue()
				for _, sl := range rl.ScopeLogs {
					for _, lr := range sl.LogRecords {
						var got int64 = -1
						for _, kv := range lr.Attributes {
							if kv.Key == "seq" {
								got = kv.Value.GetIntValue()
							}
						}
						require.EqualValues(t, seq, got, "record order")
						want := "a"
						if (seq/100)%2 == 1 {
							want = "b"
						}
						require.Equal(t, want, svc, "record %d under the wrong resource", seq)
						require.Equal(t, fmt.Sprintf("scope-%d", (seq/30)%3), sl.Scope.Name, "record %d under the wrong scope", seq)
						seq++
					}
				}
			}
		}
		assert.Equal(t, n, seq, "every record once")
		assert.EqualValues(t, 1, e.Truncated(), "the huge record, cut in a line of its own")
		require.NoError(t, e.Shutdown(context.Background()))
	}
	_, err := bridge.NewExporter(&copySink{}, bridge.WithOTLPBatchLines())
	assert.ErrorContains(t, err, "WithOTLPBatchLines needs WithFormat(FormatOTLPJSON)")
}
