package bridge

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const meterName = "github.com/fapilog/fapilog-otel/bridge"

// instruments are recorded once per Export and once per flush, never per
// entry, so their cost does not grow with traffic. Measurements are taken
// with the caller's context even when it has ended: the metrics SDK records
// them regardless, and detaching it would allocate on every Export.
//
// Export metrics use the OpenTelemetry SDK self-observability names
// (otel.sdk.exporter.log.exported, .inflight, otel.sdk.exporter.operation
// .duration) with otel.component.type "fapilog_sink" and otel.component.name
// the sink's name, so dashboards built for the SDK's exporters show ours
// too; flush and loss metrics, which have no such name, are fapilog.sink.*
// with the same attributes.
type instruments struct {
	exported      metric.Int64Counter
	inflight      metric.Int64UpDownCounter
	duration      metric.Float64Histogram
	flushes       metric.Int64Counter
	flushDuration metric.Float64Histogram
	truncated     metric.Int64Counter
	// Option slices are built once: passing a fresh variadic option per
	// call would allocate on every Export.
	sinkAttr []metric.AddOption
	failAdd  []metric.AddOption
	okAdd    []metric.AddOption
	errAdd   []metric.AddOption
	okRec    []metric.RecordOption
	errRec   []metric.RecordOption

	// lost is the callback registration of a LossReporter sink's counter,
	// undone at Shutdown.
	lost metric.Registration
}

// componentType is otel.component.type for every bridge exporter.
const componentType = "fapilog_sink"

func newInstruments(mp metric.MeterProvider, sinkName string, sink Sink) *instruments {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	base := []attribute.KeyValue{
		attribute.String("otel.component.type", componentType),
		attribute.String("otel.component.name", sinkName),
	}
	set := func(extra ...attribute.KeyValue) attribute.Set {
		return attribute.NewSet(append(append([]attribute.KeyValue(nil), base...), extra...)...)
	}
	ok := metric.WithAttributeSet(set(attribute.String("outcome", "ok")))
	bad := metric.WithAttributeSet(set(attribute.String("outcome", "error")))
	in := &instruments{
		sinkAttr: []metric.AddOption{metric.WithAttributeSet(set())},
		failAdd:  []metric.AddOption{metric.WithAttributeSet(set(attribute.String("error.type", "write_failed")))},
		okAdd:    []metric.AddOption{ok},
		errAdd:   []metric.AddOption{bad},
		okRec:    []metric.RecordOption{ok},
		errRec:   []metric.RecordOption{bad},
	}
	var errs [6]error
	in.exported, errs[0] = m.Int64Counter("otel.sdk.exporter.log.exported",
		metric.WithUnit("{log_record}"), metric.WithDescription("Log records the exporter handled: written to the sink, or not (error.type says why)."))
	in.inflight, errs[1] = m.Int64UpDownCounter("otel.sdk.exporter.log.inflight",
		metric.WithUnit("{log_record}"), metric.WithDescription("Log records inside an Export call."))
	in.duration, errs[2] = m.Float64Histogram("otel.sdk.exporter.operation.duration",
		metric.WithUnit("s"), metric.WithDescription("Time an Export call took."))
	in.flushes, errs[3] = m.Int64Counter("fapilog.sink.flushes",
		metric.WithUnit("{flush}"), metric.WithDescription("Sink flushes, by outcome."))
	in.flushDuration, errs[4] = m.Float64Histogram("fapilog.sink.flush.duration",
		metric.WithUnit("s"), metric.WithDescription("Time a sink flush took, including waiting for the sink."))
	in.truncated, errs[5] = m.Int64Counter("fapilog.sink.entries.truncated",
		metric.WithUnit("{entry}"), metric.WithDescription("Entries cut down to the entry size limit."))
	err := errors.Join(errs[:]...)
	if lr, ok := sink.(LossReporter); ok {
		err = errors.Join(err, in.observeLost(m, lr, set()))
	}
	if err != nil {
		// A broken meter provider must not stop logging: it hands back
		// no-op instruments along with the error.
		otel.Handle(err)
	}
	return in
}

func (in *instruments) observeLost(m metric.Meter, lr LossReporter, attrSet attribute.Set) error {
	lost, err := m.Int64ObservableCounter("fapilog.sink.entries.lost",
		metric.WithUnit("{entry}"), metric.WithDescription("Entries the sink accepted and then could not deliver."))
	if err != nil {
		return err
	}
	attrs := metric.WithAttributeSet(attrSet)
	in.lost, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(lost, lr.Lost(), attrs)
		return nil
	}, lost)
	return err
}

// close stops observing the sink.
func (in *instruments) close() {
	if in.lost != nil {
		if err := in.lost.Unregister(); err != nil {
			otel.Handle(err)
		}
	}
}

func (in *instruments) recordTruncated(ctx context.Context) {
	in.truncated.Add(ctx, 1, in.sinkAttr...)
}

// startExport counts n records in flight and returns when it started (the
// zero time when no one records durations: reading the clock twice per
// Export is a measurable part of exporting one record).
func (in *instruments) startExport(ctx context.Context, n int) time.Time {
	if in.inflight.Enabled(ctx) {
		in.inflight.Add(ctx, int64(n), in.sinkAttr...)
	}
	if in.duration.Enabled(ctx) {
		return time.Now()
	}
	return time.Time{}
}

// endExport records an Export that started at start: written entries,
// failed ones, and the call's duration.
func (in *instruments) endExport(ctx context.Context, start time.Time, written, failed int) {
	if in.inflight.Enabled(ctx) {
		in.inflight.Add(ctx, -int64(written+failed), in.sinkAttr...)
	}
	if written > 0 {
		in.exported.Add(ctx, int64(written), in.sinkAttr...)
	}
	rec := in.okRec
	if failed > 0 {
		in.exported.Add(ctx, int64(failed), in.failAdd...)
		rec = in.errRec
	}
	if !start.IsZero() {
		in.duration.Record(ctx, time.Since(start).Seconds(), rec...)
	}
}

func (in *instruments) recordFlush(ctx context.Context, start time.Time, err error) {
	add, rec := in.okAdd, in.okRec
	if err != nil {
		add, rec = in.errAdd, in.errRec
	}
	// The flush's own ctx may have ended; measurements still count.
	ctx = context.WithoutCancel(ctx)
	in.flushes.Add(ctx, 1, add...)
	in.flushDuration.Record(ctx, time.Since(start).Seconds(), rec...)
}
