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
type instruments struct {
	written       metric.Int64Counter
	failed        metric.Int64Counter
	flushes       metric.Int64Counter
	flushDuration metric.Float64Histogram
	// Option slices are built once: passing a fresh variadic option per
	// call would allocate on every Export.
	sinkAttr []metric.AddOption
	okAdd    []metric.AddOption
	errAdd   []metric.AddOption
	okRec    []metric.RecordOption
	errRec   []metric.RecordOption

	// lost is the callback registration of a LossReporter sink's counter,
	// undone at Shutdown.
	lost metric.Registration
}

func newInstruments(mp metric.MeterProvider, sinkName string, sink Sink) *instruments {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	name := attribute.String("fapilog.sink.name", sinkName)
	ok := metric.WithAttributeSet(attribute.NewSet(name, attribute.String("outcome", "ok")))
	bad := metric.WithAttributeSet(attribute.NewSet(name, attribute.String("outcome", "error")))
	in := &instruments{
		sinkAttr: []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(name))},
		okAdd:    []metric.AddOption{ok},
		errAdd:   []metric.AddOption{bad},
		okRec:    []metric.RecordOption{ok},
		errRec:   []metric.RecordOption{bad},
	}
	var errs [4]error
	in.written, errs[0] = m.Int64Counter("fapilog.sink.entries.written",
		metric.WithUnit("{entry}"), metric.WithDescription("Entries the sink accepted."))
	in.failed, errs[1] = m.Int64Counter("fapilog.sink.entries.failed",
		metric.WithUnit("{entry}"), metric.WithDescription("Entries that did not reach the sink: write errors, panics, ended contexts, a failed start."))
	in.flushes, errs[2] = m.Int64Counter("fapilog.sink.flushes",
		metric.WithUnit("{flush}"), metric.WithDescription("Sink flushes, by outcome."))
	in.flushDuration, errs[3] = m.Float64Histogram("fapilog.sink.flush.duration",
		metric.WithUnit("s"), metric.WithDescription("Time a sink flush took, including waiting for the sink."))
	err := errors.Join(errs[:]...)
	if lr, ok := sink.(LossReporter); ok {
		err = errors.Join(err, in.observeLost(m, lr, name))
	}
	if err != nil {
		// A broken meter provider must not stop logging: it hands back
		// no-op instruments along with the error.
		otel.Handle(err)
	}
	return in
}

func (in *instruments) observeLost(m metric.Meter, lr LossReporter, name attribute.KeyValue) error {
	lost, err := m.Int64ObservableCounter("fapilog.sink.entries.lost",
		metric.WithUnit("{entry}"), metric.WithDescription("Entries the sink accepted and then could not deliver."))
	if err != nil {
		return err
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(name))
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

func (in *instruments) recordWrite(ctx context.Context, written, failed int) {
	if written > 0 {
		in.written.Add(ctx, int64(written), in.sinkAttr...)
	}
	if failed > 0 {
		in.failed.Add(ctx, int64(failed), in.sinkAttr...)
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
