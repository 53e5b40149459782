package bridge

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const meterName = "github.com/fapilog/fapilog-otel/bridge"

// instruments are recorded once per Export and once per flush, never per
// entry, so their cost does not grow with traffic.
type instruments struct {
	written       metric.Int64Counter
	failed        metric.Int64Counter
	flushes       metric.Int64Counter
	flushDuration metric.Float64Histogram
	sinkAttr      metric.MeasurementOption
	okAttrs       metric.MeasurementOption
	errAttrs      metric.MeasurementOption
}

func newInstruments(mp metric.MeterProvider, sinkName string) *instruments {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	in := &instruments{
		sinkAttr: metric.WithAttributeSet(attribute.NewSet(attribute.String("fapilog.sink.name", sinkName))),
		okAttrs: metric.WithAttributeSet(attribute.NewSet(
			attribute.String("fapilog.sink.name", sinkName), attribute.String("outcome", "ok"))),
		errAttrs: metric.WithAttributeSet(attribute.NewSet(
			attribute.String("fapilog.sink.name", sinkName), attribute.String("outcome", "error"))),
	}
	var err error
	report := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	in.written, err = m.Int64Counter("fapilog.sink.entries.written",
		metric.WithUnit("{entry}"), metric.WithDescription("Entries the sink accepted."))
	var e error
	in.failed, e = m.Int64Counter("fapilog.sink.entries.failed",
		metric.WithUnit("{entry}"), metric.WithDescription("Entries that did not reach the sink: write errors, panics, ended contexts, a failed start."))
	report(e)
	in.flushes, e = m.Int64Counter("fapilog.sink.flushes",
		metric.WithUnit("{flush}"), metric.WithDescription("Sink flushes, by outcome."))
	report(e)
	in.flushDuration, e = m.Float64Histogram("fapilog.sink.flush.duration",
		metric.WithUnit("s"), metric.WithDescription("Time a sink flush took, including waiting for the sink."))
	report(e)
	if err != nil {
		// A broken meter provider must not stop logging: it hands back
		// no-op instruments along with the error.
		otel.Handle(err)
	}
	return in
}

func (in *instruments) recordWrite(ctx context.Context, written, failed int) {
	if written > 0 {
		in.written.Add(ctx, int64(written), in.sinkAttr)
	}
	if failed > 0 {
		in.failed.Add(ctx, int64(failed), in.sinkAttr)
	}
}

func (in *instruments) recordFlush(ctx context.Context, start time.Time, err error) {
	attrs := in.okAttrs
	if err != nil {
		attrs = in.errAttrs
	}
	// The flush's own ctx may have ended; measurements still count.
	ctx = context.WithoutCancel(ctx)
	in.flushes.Add(ctx, 1, attrs)
	in.flushDuration.Record(ctx, time.Since(start).Seconds(), attrs)
}
