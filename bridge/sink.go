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
// The bridge never calls a sink's methods concurrently, except HealthCheck.
type Sink interface {
	Write(ctx context.Context, entry []byte) error
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

// Stopper is implemented by sinks that hold resources. Stop flushes, then
// releases everything, including goroutines the sink started. Stop is called
// at most once by the bridge, but a sink used on its own should make a
// second Stop a no-op returning nil. Write after Stop must return an error.
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
