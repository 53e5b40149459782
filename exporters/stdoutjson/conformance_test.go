package stdoutjson_test

import (
	"testing"

	"github.com/fapilog/fapilog-otel/bridge/sinktest"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

func TestConformance(t *testing.T) {
	for _, size := range []int{64, delivery.DefaultBufferSize} {
		sinktest.Run(t, func(t *testing.T) sinktest.Harness {
			dest := testdest.New()
			s, err := stdoutjson.NewSink(stdoutjson.WithWriter(dest), stdoutjson.WithBuffer(delivery.Buffer{Size: size}))
			if err != nil {
				t.Fatal(err)
			}
			return sinktest.Harness{Sink: s, Delivered: dest.Lines, Stall: dest.Stall, Fail: dest.Fail}
		})
	}
}
