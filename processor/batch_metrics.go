package processor

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const meterName = "github.com/fapilog/fapilog-otel/processor"

// batchMetrics publishes Batch's self-metrics under the OpenTelemetry SDK
// self-observability names. Every instrument is observable: the hot path
// only bumps atomics it keeps anyway, so without a MeterProvider the
// metrics cost nothing, and with one they cost a callback per collection.
type batchMetrics struct {
	reg metric.Registration
}

func newBatchMetrics(b *Batch) *batchMetrics {
	m := b.cfg.meter.Meter(meterName)
	base := []attribute.KeyValue{
		attribute.String("otel.component.type", "batching_log_processor"),
		attribute.String("otel.component.name", b.cfg.name),
	}
	with := func(extra ...attribute.KeyValue) metric.ObserveOption {
		return metric.WithAttributeSet(attribute.NewSet(append(append([]attribute.KeyValue(nil), base...), extra...)...))
	}
	ok := with()
	byReason := map[string]metric.ObserveOption{}
	for _, r := range []string{reasonQueueFull, reasonDropOldest, reasonShutdown, reasonFinalExport} {
		byReason[r] = with(attribute.String("error.type", r))
	}
	var (
		errs           [3]error
		processed      metric.Int64ObservableCounter
		size, capacity metric.Int64ObservableUpDownCounter
	)
	processed, errs[0] = m.Int64ObservableCounter("otel.sdk.processor.log.processed",
		metric.WithUnit("{log_record}"),
		metric.WithDescription("Log records whose processing finished: exported, or dropped (error.type says why)."))
	size, errs[1] = m.Int64ObservableUpDownCounter("otel.sdk.processor.log.queue.size",
		metric.WithUnit("{log_record}"), metric.WithDescription("Log records queued, those being exported included."))
	capacity, errs[2] = m.Int64ObservableUpDownCounter("otel.sdk.processor.log.queue.capacity",
		metric.WithUnit("{log_record}"), metric.WithDescription("The most log records the queue holds."))
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		c := &b.counts
		o.ObserveInt64(processed, c.exported.Load(), ok)
		o.ObserveInt64(processed, c.queueFull.Load(), byReason[reasonQueueFull])
		o.ObserveInt64(processed, c.dropOldest.Load(), byReason[reasonDropOldest])
		o.ObserveInt64(processed, c.shutdown.Load(), byReason[reasonShutdown])
		o.ObserveInt64(processed, c.exportFailed.Load(), byReason[reasonFinalExport])
		o.ObserveInt64(size, int64(b.QueueLen()), ok)
		o.ObserveInt64(capacity, int64(b.cfg.maxQueue), ok)
		return nil
	}, processed, size, capacity)
	if err = errors.Join(errors.Join(errs[:]...), err); err != nil {
		otel.Handle(err) // a broken meter provider must not stop logging
	}
	return &batchMetrics{reg: reg}
}

func (m *batchMetrics) close() {
	if m.reg != nil {
		_ = m.reg.Unregister()
	}
}

// QueueLen returns how many records are queued, those being exported or
// retried included.
func (b *Batch) QueueLen() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.queuedLocked()
}

// Dropped returns how many records were dropped since NewBatch, for any
// reason: queue full, given up at Shutdown, or refused for good by the
// exporter.
func (b *Batch) Dropped() int64 {
	c := &b.counts
	return c.queueFull.Load() + c.dropOldest.Load() + c.shutdown.Load() + c.exportFailed.Load()
}
