//go:build !race

// Allocation tests: the race detector allocates and randomises sync.Pool,
// so they are built only without it (.ci/run runs them so).

package processor_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/log/logtest"

	"github.com/fapilog/fapilog-otel/processor"
)

// Records with unique keys and no map values are only read. (A map value
// costs the copy attribute.Value.AsMap makes.)
func TestDedupDoesNotAllocateForUniqueKeys(t *testing.T) {
	r := logtest.RecordFactory{Attributes: []attribute.KeyValue{
		attribute.String("a", "1"), attribute.Int("b", 2), attribute.Bool("c", true), attribute.Float64("d", 1.5),
		attribute.String("e", "5"), attribute.String("f", "6"), attribute.String("g", "7"), attribute.String("h", "8"),
		attribute.String("i", "9"), attribute.String("j", "10"),
	}}.NewRecord()
	d := processor.NewDedup()
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = d.OnEmit(context.Background(), &r) }))
}
