package bridge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/internal/ctxsync"
	"github.com/fapilog/fapilog-otel/internal/encoding"
	"github.com/fapilog/fapilog-otel/internal/onceerr"
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
	// ends and entries hold an Export's entries for a BatchWriter: end
	// offsets in buf, then the slices themselves.
	ends    []int
	entries [][]byte

	// disabled holds the first panic recovered from the sink; once set,
	// the sink is never called again except for Stop.
	disabled atomic.Pointer[PanicError]

	maxEntry  int  // bytes per entry, newline included
	lines     bool // OTLP/JSON lines holding many records (WithOTLPBatchLines)
	tbuf      []byte
	truncated atomic.Int64

	// stopped is set by the first Shutdown, before it waits for mu, so
	// that calls racing with Shutdown fail fast instead of queueing.
	stopped atomic.Bool
	// shut runs the first Shutdown and gives its result to every call.
	shut onceerr.Once
	// stopDone is closed once the sink's Stop has returned, whether
	// Shutdown called it or left it to the end of a running call.
	stopDone chan struct{}
}

var _ sdklog.Exporter = (*Exporter)(nil)

// ErrNilSink is returned by NewExporter when given no sink.
var ErrNilSink = errors.New("bridge: nil sink")

// ErrSinkDisabled is wrapped by every error of an exporter whose sink
// panicked; see Sink.
var ErrSinkDisabled = errors.New("sink disabled after a panic")

// PanicError reports a panic recovered from a sink method.
type PanicError struct {
	Sink   string // the sink's name
	Method string // Write, Start, Flush, Stop or HealthCheck
	Value  any    // what the sink panicked with
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("bridge: sink %s panicked in %s: %v", e.Sink, e.Method, e.Value)
}

// ExportError is what Export returns when entries did not reach the sink.
type ExportError struct {
	Sink   string // the sink's name
	Failed int    // entries not written
	Total  int    // entries in the batch
	Err    error  // the first cause
	retry  bool
}

func (e *ExportError) Error() string {
	if e.Failed == e.Total {
		return fmt.Sprintf("bridge: sink %s: %d entries not written: %v", e.Sink, e.Failed, e.Err)
	}
	return fmt.Sprintf("bridge: sink %s: %d of %d entries not written: %v", e.Sink, e.Failed, e.Total, e.Err)
}

func (e *ExportError) Unwrap() error { return e.Err }

// Retryable reports whether exporting the same records again is safe and
// useful: true when no entry reached the sink (the sink was busy past the
// context, or failed to start), false when the sink refused entries one by
// one, because it has then counted them as lost already (and reports them
// on its next Flush) and some of the batch may have been written.
// processor.Batch retries exactly the retryable ones.
func (e *ExportError) Retryable() bool { return e.retry }

// NewExporter returns an Exporter writing to sink. It fails on a nil sink or
// an unknown format.
func NewExporter(sink Sink, opts ...Option) (*Exporter, error) {
	if sink == nil {
		return nil, ErrNilSink
	}
	cfg := config{format: FormatEnvelope, maxEntry: DefaultMaxEntryBytes}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.lines && cfg.format != FormatOTLPJSON {
		return nil, errors.New("bridge: WithOTLPBatchLines needs WithFormat(FormatOTLPJSON)")
	}
	if cfg.maxEntry < minEntryBytes {
		return nil, fmt.Errorf("bridge: WithMaxEntryBytes(%d): below the minimum of %d", cfg.maxEntry, minEntryBytes)
	}
	if cfg.format > FormatOTLPJSON {
		return nil, fmt.Errorf("bridge: WithFormat: unknown format %v", cfg.format)
	}
	if cfg.name == "" {
		cfg.name = fmt.Sprintf("%T", sink)
	}
	return &Exporter{
		sink:     sink,
		name:     cfg.name,
		enc:      encoding.New(cfg.format.encoding()),
		metrics:  newInstruments(cfg.meterProvider, cfg.name, sink),
		mu:       ctxsync.NewMutex(),
		maxEntry: cfg.maxEntry,
		lines:    cfg.lines,
		stopDone: make(chan struct{}),
	}, nil
}

// Truncated returns how many entries were cut down to the entry size limit
// (WithMaxEntryBytes) since the exporter was created.
func (e *Exporter) Truncated() int64 { return e.truncated.Load() }

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
	if err := e.disabledErr(); err != nil {
		return &ExportError{Sink: e.name, Failed: len(records), Total: len(records), Err: err}
	}
	start := e.metrics.startExport(ctx, len(records))
	// An ended context does not refuse records that can be taken without
	// waiting: the BatchProcessor drops what Export refuses, and a flush
	// whose deadline passed must not turn queued records into lost ones.
	if err := e.mu.LockAccepting(ctx); err != nil {
		e.metrics.endExport(ctx, start, 0, len(records))
		return &ExportError{Sink: e.name, Failed: len(records), Total: len(records), retry: true,
			Err: fmt.Errorf("waiting for the sink: %w", err)}
	}
	defer e.mu.Unlock()
	if e.stopped.Load() {
		e.metrics.endExport(ctx, start, 0, len(records))
		return sdklog.ErrExporterShutdown
	}
	if err := e.disabledErr(); err != nil { // a call that held the lock panicked
		e.metrics.endExport(ctx, start, 0, len(records))
		return &ExportError{Sink: e.name, Failed: len(records), Total: len(records), Err: err}
	}
	if !e.started {
		if err := e.start(ctx); err != nil {
			e.metrics.endExport(ctx, start, 0, len(records))
			return &ExportError{Sink: e.name, Failed: len(records), Total: len(records), retry: true,
				Err: fmt.Errorf("start failed: %w", err)}
		}
		e.started = true
	}

	// Each entry is offered to the sink even after ctx has ended: a sink
	// that can take it without waiting (into memory) does, and one that
	// would have to wait returns ctx's error for it.
	var firstErr error
	failed := 0
	if e.lines {
		e.buf = e.enc.AppendOTLPLines(e.buf, records, e.maxEntry-1, func(line []byte, first, n int) {
			if len(line) >= e.maxEntry { // one record, too big on its own
				_, e.tbuf = e.enc.Truncate(e.tbuf, &records[first], len(line), e.maxEntry-1)
				line = e.tbuf
				e.truncated.Add(1)
				e.metrics.recordTruncated(ctx)
			}
			if err := e.write(ctx, line); err != nil {
				failed += n
				firstErr = cmpErr(firstErr, err)
			}
		})
		return e.endExport(ctx, start, len(records), failed, firstErr)
	}
	if bw, ok := e.sink.(BatchWriter); ok {
		failed, err := e.exportBatch(ctx, records, bw)
		return e.endExport(ctx, start, len(records), failed, err)
	}
	for i := range records {
		e.buf = e.enc.Append(e.buf[:0], &records[i])
		if len(e.buf) >= e.maxEntry { // the newline the sink adds counts too
			_, e.buf = e.enc.Truncate(e.buf, &records[i], len(e.buf), e.maxEntry-1)
			e.truncated.Add(1)
			e.metrics.recordTruncated(ctx)
		}
		if err := e.write(ctx, e.buf); err != nil {
			failed++
			firstErr = cmpErr(firstErr, err)
		}
	}
	return e.endExport(ctx, start, len(records), failed, firstErr)
}

// partBytes is about how much a BatchAppender is given at a time. The sink
// writes a part while the next is encoded, which pays on a file; each part
// also costs a wake-up of the sink's goroutine, which is all a part costs
// on a writer as fast as io.Discard. Measured here, to io.Discard 64 KiB
// parts cost about a tenth of the envelope's time and 256 KiB parts nothing
// measurable; on a file, 256 KiB parts took about a tenth off a 512-record
// Export. It also bounds the encoded bytes the bridge holds at once.
const partBytes = 256 << 10

// exportBatch encodes records and hands them to bw: all at once, or, for a
// BatchAppender, in parts of about partBytes, the last through WriteBatch.
func (e *Exporter) exportBatch(ctx context.Context, records []sdklog.Record, bw BatchWriter) (failed int, err error) {
	ap, streams := bw.(BatchAppender)
	limit := math.MaxInt
	if streams {
		limit = partBytes
	}
	for len(records) > 0 {
		n := e.encode(ctx, records, limit)
		records = records[n:]
		if len(records) == 0 {
			return e.handOver(ctx, "WriteBatch", bw.WriteBatch)
		}
		if failed, err := e.handOver(ctx, "AppendBatch", ap.AppendBatch); err != nil {
			return failed + len(records), err
		}
	}
	return 0, nil
}

// encode encodes records back to back into e.buf, until they are all
// encoded or e.buf holds limit bytes, and points e.entries at each. It
// returns how many records it encoded: at least one.
func (e *Exporter) encode(ctx context.Context, records []sdklog.Record, limit int) int {
	e.buf, e.ends = e.buf[:0], e.ends[:0]
	for i := range records {
		if i > 0 && len(e.buf) >= limit {
			records = records[:i]
			break
		}
		start := len(e.buf)
		e.buf = e.enc.Append(e.buf, &records[i])
		if n := len(e.buf) - start; n >= e.maxEntry { // the newline the sink adds counts too
			_, e.tbuf = e.enc.Truncate(e.tbuf, &records[i], n, e.maxEntry-1)
			e.buf = append(e.buf[:start], e.tbuf...)
			e.truncated.Add(1)
			e.metrics.recordTruncated(ctx)
		}
		e.ends = append(e.ends, len(e.buf))
	}
	e.entries = e.entries[:0]
	start := 0
	for _, end := range e.ends {
		e.entries = append(e.entries, e.buf[start:end:end])
		start = end
	}
	return len(records)
}

func (e *Exporter) endExport(ctx context.Context, start time.Time, total, failed int, firstErr error) error {
	e.shrinkBuf()
	e.metrics.endExport(ctx, start, total-failed, failed)
	if firstErr != nil {
		return &ExportError{Sink: e.name, Failed: failed, Total: total, Err: firstErr}
	}
	return nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// maxRetainedBuf keeps one huge Export from pinning its buffer for the
// life of the exporter. It holds a whole Export for a BatchWriter: 512
// records of a few hundred bytes fit.
const maxRetainedBuf = 4 << 20

func (e *Exporter) shrinkBuf() {
	if cap(e.buf) > maxRetainedBuf {
		e.buf = nil
	}
	clear(e.entries) // no slice of a dropped buffer stays reachable
	if cap(e.entries) > 1<<14 {
		e.entries, e.ends = nil, nil
	}
	if cap(e.tbuf) > maxRetainedBuf {
		e.tbuf = nil
	}
}

// ForceFlush calls the sink's Flush, after every Export that started before
// it. It returns nil only when the sink reports its data delivered, and an
// error wrapping ctx.Err() when ctx ends first, even if the sink's Flush
// ignores ctx: that Flush is then left running, and the sink takes no
// other call until it returns (Exports and flushes wait for it within
// their own contexts).
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
	if e.stopped.Load() {
		e.mu.Unlock()
		return nil
	}
	// The sink's Flush holds the lock until it returns, and releases it
	// itself: one that ignores ctx (against the Flusher contract) is left
	// running, the sink taking no other call until it returns, but the
	// caller is not held past ctx.
	_, err := ctxsync.Bounded(ctx, 0, func(ctx context.Context) error {
		defer e.mu.Unlock()
		return e.flush(ctx)
	})
	return err
}

// Shutdown flushes the sink within ctx and then stops it, always: with an
// ended ctx (the SDK's BatchProcessor passes one when its last export ran
// out of time) the flush fails at once and the sink's Stop is still called,
// with that ctx, so that it releases its goroutines and files and reports
// what it could not deliver. If a call into the sink is still running
// (an Export blocked on a slow destination), Shutdown does not wait past
// ctx: it returns an error and the sink is stopped as soon as that call
// returns. Nor does it wait for a Flush or Stop that ignores ctx, beyond
// 250ms more: it returns an error saying it left them running.
//
// Only the first call does the work. A later or concurrent call waits for
// it, within its own ctx, and returns the same result: nil when the first
// succeeded, as the sdklog.Exporter contract asks, and the first one's
// error when it failed, so that a failed shutdown is never hidden.
func (e *Exporter) Shutdown(ctx context.Context) error {
	return e.shut.Do(ctx, "bridge: sink "+e.name+": shutdown", func() error {
		e.stopped.Store(true)
		return e.shutdown(ctx)
	})
}

func (e *Exporter) shutdown(ctx context.Context) error {
	defer e.metrics.close()
	if err := e.mu.Lock(ctx); err != nil {
		if !e.mu.TryLock() {
			go func() {
				// Any call into the sink returns eventually: its own
				// ctx bounds it. Then nothing else may call the sink.
				_ = e.mu.Lock(context.Background())
				defer e.mu.Unlock()
				if err := e.stopSink(ctx); err != nil {
					otel.Handle(err)
				}
			}()
			return fmt.Errorf("bridge: sink %s: shutdown: a call into the sink is still running; the sink will be stopped when it returns: %w", e.name, err)
		}
	}
	// Flush and Stop hold the lock until they return, as in ForceFlush;
	// a Stop gets stopGrace past ctx to finish releasing, and one that
	// ignores ctx is then left running.
	left, err := ctxsync.Bounded(ctx, stopGrace, func(ctx context.Context) error {
		defer e.mu.Unlock()
		start := time.Now()
		flushErr := e.flush(ctx)
		e.metrics.recordFlush(ctx, start, flushErr)
		if flushErr != nil {
			flushErr = fmt.Errorf("bridge: sink %s: flush: %w", e.name, flushErr)
		}
		return errors.Join(flushErr, e.stopSink(ctx))
	})
	if left != nil {
		err = fmt.Errorf("bridge: sink %s: shutdown: the sink's Flush or Stop %w", e.name, err)
	}
	return err
}

// stopGrace is how long past its context Shutdown waits for the sink's
// Flush and Stop before leaving them running: a Stop honouring an ended
// context returns well within it, having released what it holds.
const stopGrace = 250 * time.Millisecond

// stopSink calls the sink's Stop; e.mu must be held.
func (e *Exporter) stopSink(ctx context.Context) error {
	defer close(e.stopDone)
	if err := e.stop(ctx); err != nil {
		return fmt.Errorf("bridge: sink %s: stop: %w", e.name, err)
	}
	return nil
}

// Stopped is closed once the sink's Stop has returned after Shutdown (at
// once for a sink without Stop). It lets a caller whose Shutdown ran out of
// time wait for the sink to be released.
func (e *Exporter) Stopped() <-chan struct{} { return e.stopDone }

// HealthCheck returns the sink's own health check result, nil for a sink
// without one, and sdklog.ErrExporterShutdown after Shutdown.
func (e *Exporter) HealthCheck(ctx context.Context) (err error) {
	if e.stopped.Load() {
		return sdklog.ErrExporterShutdown
	}
	if err := e.disabledErr(); err != nil {
		return err
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

// The sink calls below each recover from a panic in their own frame and
// disable the sink (see Sink): the rest of a batch is not offered to it.

func (e *Exporter) write(ctx context.Context, entry []byte) (err error) {
	if err := e.disabledErr(); err != nil {
		return err
	}
	defer e.recoverInto(&err, "Write")
	return e.sink.Write(ctx, entry)
}

// handOver gives e.entries to the sink through call, its WriteBatch or
// AppendBatch, and returns how many it refused.
func (e *Exporter) handOver(ctx context.Context, method string, call func(context.Context, [][]byte) (int, error)) (failed int, err error) {
	defer func() {
		if v := recover(); v != nil {
			failed, err = len(e.entries), e.disable(method, v)
		}
	}()
	failed, err = call(ctx, e.entries)
	if err == nil && failed != 0 {
		err = fmt.Errorf("%d entries refused without a reason", failed)
	}
	return min(max(failed, 0), len(e.entries)), err
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
	if err := e.disabledErr(); err != nil {
		return err
	}
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
		*err = e.disable(method, v)
	}
}

// disable records the first panic, reports it once, and returns the error
// this call fails with.
func (e *Exporter) disable(method string, v any) error {
	pe := &PanicError{Sink: e.name, Method: method, Value: v}
	if e.disabled.CompareAndSwap(nil, pe) {
		otel.Handle(pe)
		return fmt.Errorf("%w: %w", ErrSinkDisabled, pe)
	}
	return e.disabledErr()
}

// disabledErr returns the error every call fails with once the sink has
// panicked, nil before.
func (e *Exporter) disabledErr() error {
	if pe := e.disabled.Load(); pe != nil {
		return fmt.Errorf("%w: %w", ErrSinkDisabled, pe)
	}
	return nil
}
