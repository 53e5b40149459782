//go:build !race

// Allocation tests: the race detector allocates and randomises sync.Pool,
// so they are built only without it (.ci/run runs them so).

package stdoutjson_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/internal/testrecords"
)

// The exporter path as a BatchProcessor drives it (bridge, encoder, sink)
// allocates nothing once warm: not per record, not per Export, also for an
// Export the bridge hands over in parts, whose buffers queue for the
// writer.
func TestExportDoesNotAllocate(t *testing.T) {
	exp, err := stdoutjson.New(stdoutjson.WithWriter(io.Discard))
	require.NoError(t, err)
	rec := logtest.RecordFactory{
		Timestamp: time.Now(), Severity: log.SeverityInfo, SeverityText: "INFO",
		Body: attribute.StringValue(testrecords.Message), Attributes: testrecords.TenAttributes(),
	}.NewRecord()
	for _, n := range []int{1, 128, 2048} {
		recs := make([]sdklog.Record, n)
		for i := range recs {
			recs[i] = rec
		}
		ctx := context.Background()
		require.NoError(t, exp.Export(ctx, recs))
		allocs := testing.AllocsPerRun(500, func() {
			if err := exp.Export(ctx, recs); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, "%d records per Export", n)
	}
	require.NoError(t, exp.Shutdown(context.Background()))
}
