package sinktest_test

import (
	"testing"

	"github.com/fapilog/fapilog-otel/bridge/sinktest"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

// Run belongs in a test function of the sink's package; this is how
// exporters/stdoutjson calls it.
func ExampleRun() {
	_ = func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sinktest.Harness {
			dest := testdest.New() // an io.Writer that records, stalls and fails on demand
			sink, err := stdoutjson.NewSink(stdoutjson.WithWriter(dest))
			if err != nil {
				t.Fatal(err)
			}
			return sinktest.Harness{Sink: sink, Delivered: dest.Lines, Stall: dest.Stall, Fail: dest.Fail}
		})
	}
}
