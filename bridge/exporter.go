package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/internal/ctxsync"
	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// Exporter is an sdklog.Exporter that encodes records and writes them to a
// Sink. Its methods are safe for concurrent use. Create one with NewExporter.
type Exporter struct {
	sink    Sink
	name    string
	enc     *encoding.Encoder
	metrics *instruments

	// mu serialises every call into the sink except HealthCheck, and guards
	// started and buf. Waiting for it ends with the caller's context.
	mu      *ctxsync.Mutex
	started bool
	buf     []byte

	// stopped is set by the first Shutdown, before it waits for mu, so
	// that calls racing with Shutdown fail fast instead of queueing.
	stopped atomic.Bool
}

var _ sdklog.Exporter = (*Exporter)(nil)

// ErrNilSink is returned by NewExporter when given no sink.
var ErrNilSink = errors.New("bridge: nil sink")

// PanicError reports a panic recovered from a sink method.
type PanicError struct {
	Sink   string // the sink's name
	Method string // Write, Start, Flush, Stop or HealthCheck
	Value  any    // what the sink panicked with
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("bridge: sink %s panicked in %s: %v", e.Sink, e.Method, e.Value)
}

// NewExporter returns an Exporter writing to sink. It fails on a nil sink or
// an unknown format.
func NewExporter(sink Sink, opts ...Option) (*Exporter, error) {
	if sink == nil {
		return nil, ErrNilSink
	}
	cfg := config{format: FormatEnvelope}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if !cfg.format.Valid() {
		return nil, fmt.Errorf("bridge: WithFormat: unknown format %v", cfg.format)
	}
	if cfg.name == "" {
		cfg.name = fmt.Sprintf("%T", sink)
	}
	return &Exporter{
		sink:    sink,
		name:    cfg.name,
		enc:     encoding.New(cfg.format),
		metrics: newInstruments(cfg.meterProvider, cfg.name, sink),
		mu:      ctxsync.NewMutex(),
	}, nil
}

// Name returns the sink's name as used in errors and metrics.
func (e *Exporter) Name() string { return e.name }

// Sink returns the wrapped sink.
func (e *Exporter) Sink() Sink { return e.sink }

// Export encodes each record and writes it to the sink. It does not retain
// records. Entries whose Write fails are counted and reported in the returned
// error; the others are still written. When ctx ends, the entries not yet
// written are reported as failed.
func (e *Exporter) Export(ctx context.Context, records []sdklog.Record) error {
	if e.stopped.Load() {
		return sdklog.ErrExporterShutdown
	}
	if len(records) == 0 {
		return nil
	}
	// An ended context does not refuse records that can be taken without
	// waiting: the BatchProcessor drops what Export refuses, and a flush
	// whose deadline passed must not turn queued records into lost ones.
	if err := e.mu.LockAccepting(ctx); err != nil {
		e.metrics.recordWrite(ctx, 0, len(records))
		return fmt.Errorf("bridge: sink %s: %d entries not written: %w", e.name, len(records), err)
	}
	defer e.mu.Unlock()
	if e.stopped.Load() {
		return sdklog.ErrExporterShutdown
	}
	if !e.started {
		if err := e.start(ctx); err != nil {
			e.metrics.recordWrite(ctx, 0, len(records))
			return fmt.Errorf("bridge: sink %s: start failed, %d entries not written: %w", e.name, len(records), err)
		}
		e.started = true
	}

	// Each entry is offered to the sink even after ctx has ended: a sink
	// that can take it without waiting (into memory) does, and one that
	// would have to wait returns ctx's error for it.
	var firstErr error
	failed := 0
	for i := range records {
		e.buf = e.enc.Append(e.buf[:0], &records[i])
		if err := e.write(ctx, e.buf); err != nil {
			failed++
			firstErr = cmpErr(firstErr, err)
		}
	}
	e.shrinkBuf()
	e.metrics.recordWrite(ctx, len(records)-failed, failed)
	if firstErr != nil {
		return fmt.Errorf("bridge: sink %s: %d of %d entries not written: %w", e.name, failed, len(records), firstErr)
	}
	return nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// maxRetainedBuf keeps one huge record from pinning its buffer for the life
// of the exporter.
const maxRetainedBuf = 1 << 20

func (e *Exporter) shrinkBuf() {
	if cap(e.buf) > maxRetainedBuf {
		e.buf = nil
	}
}

// ForceFlush calls the sink's Flush, after every Export that started before
// it. It returns nil only when the sink reports its data delivered, and an
// error wrapping ctx.Err() when ctx ends first.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	if e.stopped.Load() {
		return nil
	}
	start := time.Now()
	err := e.flushLocked(ctx)
	e.metrics.recordFlush(ctx, start, err)
	if err != nil {
		return fmt.Errorf("bridge: sink %s: flush: %w", e.name, err)
	}
	return nil
}

func (e *Exporter) flushLocked(ctx context.Context) error {
	if err := e.mu.Lock(ctx); err != nil {
		return err
	}
	defer e.mu.Unlock()
	if e.stopped.Load() {
		return nil
	}
	return e.flush(ctx)
}

// Shutdown flushes the sink and then stops it. Only the first call does
// anything; every later or concurrent call returns nil at once, as the
// sdklog.Exporter contract asks. If ctx ends while a Write is still running
// in the sink, Shutdown returns an error and the sink is not stopped.
func (e *Exporter) Shutdown(ctx context.Context) error {
	if e.stopped.Swap(true) {
		return nil
	}
	defer e.metrics.close()
	if err := e.mu.Lock(ctx); err != nil {
		return fmt.Errorf("bridge: sink %s: shutdown: sink busy, not stopped: %w", e.name, err)
	}
	defer e.mu.Unlock()
	start := time.Now()
	flushErr := e.flush(ctx)
	e.metrics.recordFlush(ctx, start, flushErr)
	if flushErr != nil {
		flushErr = fmt.Errorf("bridge: sink %s: flush: %w", e.name, flushErr)
	}
	stopErr := e.stop(ctx)
	if stopErr != nil {
		stopErr = fmt.Errorf("bridge: sink %s: stop: %w", e.name, stopErr)
	}
	return errors.Join(flushErr, stopErr)
}

// HealthCheck returns the sink's own health check result, nil for a sink
// without one, and sdklog.ErrExporterShutdown after Shutdown.
func (e *Exporter) HealthCheck(ctx context.Context) (err error) {
	if e.stopped.Load() {
		return sdklog.ErrExporterShutdown
	}
	hc, ok := e.sink.(HealthChecker)
	if !ok {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	defer e.recoverInto(&err, "HealthCheck")
	return hc.HealthCheck(ctx)
}

// The sink calls below each recover from a panic in their own frame, so one
// panicking entry fails alone and the batch goes on.

func (e *Exporter) write(ctx context.Context, entry []byte) (err error) {
	defer e.recoverInto(&err, "Write")
	return e.sink.Write(ctx, entry)
}

func (e *Exporter) start(ctx context.Context) (err error) {
	s, ok := e.sink.(Starter)
	if !ok {
		return nil
	}
	defer e.recoverInto(&err, "Start")
	return s.Start(ctx)
}

func (e *Exporter) flush(ctx context.Context) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, ok := e.sink.(Flusher)
	if !ok {
		return nil
	}
	defer e.recoverInto(&err, "Flush")
	return f.Flush(ctx)
}

func (e *Exporter) stop(ctx context.Context) (err error) {
	s, ok := e.sink.(Stopper)
	if !ok {
		return nil
	}
	defer e.recoverInto(&err, "Stop")
	return s.Stop(ctx)
}

func (e *Exporter) recoverInto(err *error, method string) {
	if v := recover(); v != nil {
		*err = &PanicError{Sink: e.name, Method: method, Value: v}
	}
}
