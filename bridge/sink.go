package bridge

import "context"

// Sink receives finalized log entries. It is the one method a sink must have.
//
// Write is given one entry: a single JSON object, without a trailing newline,
// in the exporter's Format. The slice is only valid during the call; a sink
// that keeps an entry (to batch it, say) must copy it. Write should honour
// ctx when it may block. An error reports that this entry did not reach the
// sink; the bridge goes on with the next entry and returns the errors from
// Export.
//
// # Concurrency
//
// The bridge calls Write, Start, Flush and Stop one at a time, never two
// at once, from whatever goroutine calls the Exporter; HealthCheck and Lost
// may be called concurrently with any of them. A sink used only through the
// bridge therefore needs no locking except for state its HealthCheck or
// Lost reads, and for its own goroutines. bridge/sinktest checks exactly
// this rule: it fails a sink that breaks under it, and never calls a sink
// concurrently itself.
//
// # Panics
//
// A sink must not panic. If it does, the bridge recovers, so that a
// logging sink never takes the process down, but does not trust the sink
// again: state it left half-changed (a held lock, a half-written line)
// could hang or corrupt later calls. The panic is reported once through
// otel.Handle as a *PanicError; every later Export, ForceFlush and
// HealthCheck fails with an error wrapping ErrSinkDisabled and the
// *PanicError; Shutdown still calls Stop, once, to release what it can.
//
// # Ended contexts
//
// Every method may be given a context that has already ended: the
// OpenTelemetry SDK passes one to Shutdown when its last export ran out of
// time. Write should then still take an entry it can take without waiting
// (into memory); Flush returns an error wrapping ctx.Err() at once; Stop
// must still release every resource, see Stopper.
type Sink interface {
	Write(ctx context.Context, entry []byte) error
}

// BatchWriter is implemented by sinks that can take every entry of an
// Export in one call, so that a record costs one lock (the bridge's) rather
// than one per entry in the sink as well. The built-in sinks implement it.
//
// entries are in order and, like Write's entry, valid only during the call.
// WriteBatch returns how many entries it did not take and the first
// reason; an entry it refuses is as a Write that returned an error. The
// bridge calls WriteBatch instead of Write when a sink has it, except for
// WithOTLPBatchLines, whose lines already carry many records each.
type BatchWriter interface {
	WriteBatch(ctx context.Context, entries [][]byte) (failed int, err error)
}

// BatchAppender is implemented by BatchWriters that write entries from a
// goroutine of their own, as the built-in line sinks do. AppendBatch takes
// entries as WriteBatch does, in order and under the same rules, but
// returns without waiting for them to be written. For an Export larger
// than a few tens of kilobytes the bridge hands such a sink the entries in
// parts as it encodes them, each part but the last with AppendBatch, so
// that the sink writes the first parts while the bridge encodes the rest;
// the last part goes through WriteBatch (possibly with no entries), whose
// wait must cover the earlier parts too. Once a part is refused, the
// entries after it are not offered.
type BatchAppender interface {
	AppendBatch(ctx context.Context, entries [][]byte) (failed int, err error)
}

// Starter is implemented by sinks that acquire resources before writing.
// Start is called once before the first Write. If it fails, the entries of
// that Export are not written and Start is tried again before the next one;
// after it succeeds it is never called again.
type Starter interface {
	Start(ctx context.Context) error
}

// Flusher is implemented by sinks that buffer. Flush pushes everything
// written so far to the destination (handed to the OS, acknowledged by the
// receiver) and returns nil only when that is done.
//
// Flush must be safe to call repeatedly, must not discard buffered entries
// when ctx ends (they stay buffered for the next Flush), and should return
// an error wrapping ctx.Err() promptly when ctx ends first. It may be called
// before Start when nothing was written.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Stopper is implemented by sinks that hold resources. Stop flushes within
// ctx, then releases everything, including goroutines the sink started.
//
// Stop must release resources even when ctx has already ended or ends
// while it flushes: it then returns an error wrapping ctx.Err() that says
// what was not delivered (counted as lost) or what is still being finished
// in the background (a write the operating system has not returned from
// cannot be cancelled; such work must end on its own once that write
// returns, and write nothing after it). It must never leave a goroutine or
// an open file behind for good.
//
// Stop is called at most once by the bridge. A sink used on its own should
// make a later Stop return the first one's result without doing anything
// again. Write after Stop must return an error.
type Stopper interface {
	Stop(ctx context.Context) error
}

// HealthChecker is implemented by sinks that can tell whether they are able
// to deliver. HealthCheck returns nil when healthy. It may be called
// concurrently with any other method and should be cheap.
type HealthChecker interface {
	HealthCheck(ctx context.Context) error
}

// LossReporter is implemented by sinks that accept entries and deliver them
// later, and so can lose some after Write returned nil (a buffered write
// that met a full disk). Lost returns how many entries were lost since the
// sink was created. The exporter publishes it as the
// fapilog.sink.entries.lost counter; the sink also reports each loss as an
// error (the built-in sinks to otel.Handle and on the next Flush).
type LossReporter interface {
	Lost() int64
}
