package delivery

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const meterName = "github.com/fapilog/fapilog-otel/exporters/delivery"

// observeSpool publishes a spool's state through the global MeterProvider,
// read when metrics are collected: fapilog.spool.size (bytes),
// fapilog.spool.segments and fapilog.spool.oldest_age (seconds since the
// oldest undelivered batch began; 0 when none), each with
// otel.component.name set to the sink's name. The returned function stops
// it.
func observeSpool(name string, s *Sink) func() {
	m := otel.GetMeterProvider().Meter(meterName)
	size, err1 := m.Int64ObservableGauge("fapilog.spool.size", metric.WithUnit("By"),
		metric.WithDescription("Bytes in the spool's files, against its bound."))
	segs, err2 := m.Int64ObservableGauge("fapilog.spool.segments", metric.WithUnit("{segment}"),
		metric.WithDescription("Files in the spool."))
	age, err3 := m.Float64ObservableGauge("fapilog.spool.oldest_age", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest undelivered batch in the spool; 0 when none."))
	if err := errors.Join(err1, err2, err3); err != nil {
		otel.Handle(err)
		return func() {}
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("otel.component.name", name)))
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st, ok := s.SpoolStats()
		if !ok {
			return nil
		}
		o.ObserveInt64(size, st.Bytes, attrs)
		o.ObserveInt64(segs, int64(st.Segments), attrs)
		a := 0.0
		if !st.Oldest.IsZero() {
			a = time.Since(st.Oldest).Seconds()
		}
		o.ObserveFloat64(age, a, attrs)
		return nil
	}, size, segs, age)
	if err != nil {
		otel.Handle(err)
		return func() {}
	}
	return func() { _ = reg.Unregister() }
}
