package processor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/internal/ctxsync"
	"github.com/fapilog/fapilog-otel/internal/encoding"
	"github.com/fapilog/fapilog-otel/internal/flushacct"
	"github.com/fapilog/fapilog-otel/internal/onceerr"
)

// Batch is a drop-in replacement for sdklog.NewBatchProcessor that does not
// lose records on its own. It queues records and exports them in batches
// from one goroutine, like the SDK's processor, with the same defaults and
// environment variables, but:
//
//   - A full queue applies an explicit policy (QueueFullBlock by default: the
//     emitting goroutine waits up to a bounded time, then the new record is
//     dropped). Every drop is counted, by reason, in the self-metrics and in
//     the next ForceFlush's error, and reported (coalesced) to the error
//     handler. Nothing is dropped silently.
//   - A batch whose Export fails stays queued, in order, and is retried with
//     exponential backoff and full jitter: an exporter down for 30 seconds
//     loses nothing while the queue has room. From its second failure it
//     is tried in halves, so a receiver refusing requests over a size (a
//     413) takes it in parts, and a record refused for good is isolated; a
//     record still failing alone after 5 minutes without progress
//     (WithMaxRetryElapsedTime) is given up, counted, instead of holding
//     back every record after it.
//     After a failed Export, strings that are not UTF-8 in the records it
//     carried (the OTLP exporters' protobuf encoding refuses them, failing
//     the whole batch) are repaired, each stray byte becoming U+FFFD, and
//     the records are tried again at once, before any of the above (not
//     after a final error, below). A record that has failed alone three
//     times and encodes to more than WithMaxRecordBytes (1 MiB; too large
//     for a receiver's body limit, say) is cut to fit, once, marked
//     fapilog.truncated, and tried again at once.
//     An error the exporter marks final (a method Retryable() bool that
//     returns false, as bridge.Exporter's error for a partly written batch
//     has) is not retried; its records are counted as lost. Nor is an OTLP
//     partial success, which otlploghttp and otlploggrpc return as an
//     error: the receiver took the request, and the OTLP specification
//     forbids sending it again; the records it rejected are counted lost.
//   - ForceFlush returns nil only when every record emitted before it was
//     exported and the exporter's own ForceFlush returned nil, and nothing
//     was dropped since the previous flush. When its context ends first, it
//     returns an error wrapping ctx.Err() and every record it did not export
//     is still queued, in order.
//   - Shutdown flushes within its context, then shuts the exporter down,
//     always: with an ended context it still stops its goroutine and the
//     exporter, and its error says how many records were not exported.
//
// Records reach the exporter in the order they were emitted (per emitting
// goroutine, and overall in the order OnEmit took them), one Export at a
// time. OnEmit copies the record (the SDK reuses it after OnEmit returns)
// into reused chunks of one export batch each, without allocating for
// records whose attributes fit the SDK's inline array, and with one
// allocation above that; a chunk is exported as it is, without a second
// copy.
//
// How the retry budgets combine: each Export is bounded by the export
// timeout (30s). An exporter that retries inside Export (otlploghttp does,
// for up to a minute by default) spends that time within the timeout, and
// Batch waits its own backoff (at most WithMaxRetryBackoff, 5s) only after
// Export has returned an error, so the waits add up, never multiply. To let
// Batch own the retries, turn the exporter's off (otlploghttp.WithRetry with
// Enabled false); keep them on if the receiver throttles, as otlploghttp
// honours Retry-After and Batch cannot see it.
//
// Batch is safe for concurrent use.
type Batch struct {
	exporter sdklog.Exporter
	cfg      batchConfig

	mu        sync.Mutex
	q         recordQueue // records waiting, in order
	inflight  *chunk      // taken for export; kept while retried; nil when none
	enqueued  uint64      // records ever queued
	done      uint64      // records ever removed: exported, given up or dropped from the queue
	flushTo   uint64      // the worker exports without waiting until done reaches it
	flushGen  uint64      // counts flush requests: each may cut one retry backoff short
	started   bool
	stopped   bool // no more records are accepted
	quitting  bool // the worker ends once the queue is empty
	abandoned bool // Shutdown gave up on what was queued: flushes waiting for it return
	// detached is set when Shutdown stopped waiting for an Export that
	// ignored its cancelled context: the worker, once that Export
	// returns, touches nothing and ends.
	detached bool
	// stallSince is when the earliest wait still unanswered began: the
	// first blocked emitter to time out with done still at stallDone sets
	// it. stalled is set once that is stallWindows timeouts ago with done
	// unmoved (see stalledLocked).
	stallSince time.Time
	stallDone  uint64
	stalled    bool
	// progress is closed and replaced when done advances, so flushes and
	// blocked emitters waiting for it wake up.
	progress chan struct{}
	wake     chan struct{} // capacity 1: work for the worker
	// interval runs only while records wait (armed, guarded by mu): the
	// first record to find it stopped starts it, so a record waits at
	// most the export interval and an idle Batch never wakes up, however
	// short the interval.
	interval *time.Timer
	armed    bool
	fires    int     // times the interval ran out, for tests
	reports  []error // found under mu, reported once it is released

	ledger flushacct.Ledger
	counts counters
	// Reports waiting to be made (batch_report.go): records dropped,
	// failed Exports being retried, records given up, partial successes,
	// records repaired and records cut after a failed Export.
	drops, failures, giveUps, rejects, repairs, cuts pending
	// sizer measures a lone failing record (batch_cut.go); the worker's.
	sizer *encoding.Encoder

	exportCtx    context.Context // cancelled when Shutdown gives up on the queue
	cancelExport context.CancelFunc
	workerDone   chan struct{}

	shut    onceerr.Once
	metrics *batchMetrics

	// flushRunning, guarded by mu, is closed when the exporter's
	// ForceFlush that the last flush left running past its deadline
	// returns (see flushExporter).
	flushRunning <-chan struct{}

	// dropCauses are the errors the ledger records per drop reason, made
	// once: a drop happens in the overload that must not also allocate.
	dropCauses map[string]error
}

var _ sdklog.Processor = (*Batch)(nil)

// NewBatch returns a Batch exporting to exporter. Its goroutine starts with
// the first record and ends with Shutdown.
func NewBatch(exporter sdklog.Exporter, opts ...BatchOption) *Batch {
	cfg := newBatchConfig(opts)
	ctx, cancel := context.WithCancel(context.Background())
	b := &Batch{
		exporter:     exporter,
		cfg:          cfg,
		q:            recordQueue{size: cfg.batchSize},
		progress:     make(chan struct{}),
		wake:         make(chan struct{}, 1),
		interval:     time.NewTimer(cfg.interval),
		exportCtx:    ctx,
		cancelExport: cancel,
		workerDone:   make(chan struct{}),
	}
	b.dropCauses = map[string]error{}
	for _, r := range []string{reasonQueueFull, reasonDropOldest, reasonShutdown} {
		b.dropCauses[r] = fmt.Errorf("%w (%s, policy %v)", ErrDropped, r, cfg.policy)
	}
	if b.cfg.name == "" {
		b.cfg.name = fmt.Sprintf("batching_log_processor/%d", batchSeq.Add(1)-1)
	}
	b.interval.Stop()
	b.metrics = newBatchMetrics(b)
	return b
}

var batchSeq atomic.Int64

// Drop reasons, the error.type of otel.sdk.processor.log.processed.
const (
	reasonQueueFull   = "queue_full"             // drop_newest, or block timed out
	reasonDropOldest  = "queue_full_drop_oldest" // pushed out by a newer record
	reasonShutdown    = "shutdown"               // still queued when Shutdown gave up, or emitted after it
	reasonFinalExport = "export_failed"          // the exporter said retrying would not help
)

type counters struct {
	exported, queueFull, dropOldest, shutdown, exportFailed atomic.Int64
}

// Enabled reports true: Batch exports every record it is given.
func (b *Batch) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

// OnEmit queues a copy of record. It waits only under QueueFullBlock with
// a full queue, at most the block timeout and never past ctx. It always
// returns nil: a dropped record is counted and reported, not returned per
// record (that would flood the error handler in exactly the overload that
// causes drops).
func (b *Batch) OnEmit(ctx context.Context, record *sdklog.Record) error {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		b.counts.shutdown.Add(1)
		return nil
	}
	if !b.started {
		b.started = true
		go b.run()
	}
	if b.queuedLocked() >= b.cfg.maxQueue && !b.makeRoomLocked(ctx) {
		return nil
	}
	b.q.push(record)
	b.enqueued++
	if b.q.n >= b.cfg.batchSize {
		b.signalLocked()
	}
	b.armLocked()
	b.unlock()
	return nil
}

// armLocked starts the export interval for the records queued, unless it
// runs already.
func (b *Batch) armLocked() {
	if !b.armed && b.q.n > 0 {
		b.armed = true
		b.interval.Reset(b.cfg.interval)
	}
}

// makeRoomLocked applies the queue-full policy for one record. It returns
// true, with b.mu held, when the record may be queued; false, with b.mu
// released, when it was dropped (and counted). Kept apart from OnEmit so
// that the timer's defer does not slow every call: a defer in a loop
// costs the whole function its open-coded defers.
func (b *Batch) makeRoomLocked(ctx context.Context) bool {
	var deadline *time.Timer
	var doneBefore uint64 // done when the wait began: progress is judged over the whole timeout
	var waitStart time.Time
	for b.queuedLocked() >= b.cfg.maxQueue {
		switch {
		case b.cfg.policy == QueueFullDropOldest && b.q.dropOldest():
			b.advanceLocked(1)
			b.dropLocked(1, reasonDropOldest)
			continue
		case b.cfg.policy == QueueFullBlock && !b.stopped && !b.stalledLocked():
			if deadline == nil {
				// waitStart before the timer: the wait then never ends
				// before waitStart+timeout, which noteStallLocked's
				// count of stallWindows timeouts relies on.
				doneBefore, waitStart = b.done, time.Now()
				deadline = time.NewTimer(b.cfg.blockTimeout)
				defer deadline.Stop()
			}
			b.signalLocked() // the worker may be waiting out an interval
			ch := b.progress
			b.mu.Unlock()
			timedOut, expired := false, false
			select {
			case <-ch:
			case <-deadline.C:
				timedOut, expired = true, true
			case <-ctx.Done():
				timedOut = true // the caller's deadline says nothing of the exporter
			}
			b.mu.Lock()
			if expired && b.done == doneBefore {
				b.noteStallLocked(waitStart)
			}
			if !timedOut || b.queuedLocked() < b.cfg.maxQueue {
				continue
			}
		}
		if b.stopped {
			b.mu.Unlock()
			b.counts.shutdown.Add(1)
			return false
		}
		b.dropLocked(1, reasonQueueFull)
		b.unlock()
		return false
	}
	return true
}

// stallWindows is how many block timeouts must pass with records waiting
// and none leaving the queue before emitters stop waiting. More than one,
// so that an exporter that is only slow (one export taking longer than the
// timeout) does not make records that a short wait would have saved drop.
const stallWindows = 2

// noteStallLocked records that a wait begun at start ran its whole timeout
// without a record leaving the queue.
func (b *Batch) noteStallLocked(start time.Time) {
	if b.stallSince.IsZero() || b.stallDone != b.done {
		b.stallSince, b.stallDone, b.stalled = start, b.done, false
	}
	if time.Since(b.stallSince) >= stallWindows*b.cfg.blockTimeout {
		b.stalled = true
	}
}

// stalledLocked reports whether records have waited stallWindows block
// timeouts without one leaving the queue, and none has left it since. The
// exporter is then making no progress (a Collector down for minutes, an
// exporter retrying): another wait would only stall another goroutine of
// the application for the whole timeout and drop all the same, so the
// record is dropped (counted) at once. The first record to leave the
// queue ends it.
func (b *Batch) stalledLocked() bool { return b.stalled && b.done == b.stallDone }

// queuedLocked counts the records held, those being exported included.
func (b *Batch) queuedLocked() int {
	n := b.q.n
	if b.inflight != nil {
		n += b.inflight.len()
	}
	return n
}

func (b *Batch) signalLocked() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// advanceLocked records that n more records left the queue for good.
func (b *Batch) advanceLocked(n int) {
	b.done += uint64(n)
	close(b.progress)
	b.progress = make(chan struct{})
}

// dropLocked counts n dropped records for the metrics and the next flush,
// and reports drops to the handler at most once a second.
func (b *Batch) dropLocked(n int, reason string) {
	switch reason {
	case reasonQueueFull:
		b.counts.queueFull.Add(int64(n))
	case reasonDropOldest:
		b.counts.dropOldest.Add(int64(n))
	case reasonShutdown:
		b.counts.shutdown.Add(int64(n))
	}
	b.ledger.Lost(n, b.dropCauses[reason])
	if b.drops.add(n, nil) {
		b.reportDropsLocked()
	}
}

// exportedLocked counts n records exported, less those rejected by the
// partial success answer (nil when the Export simply succeeded).
func (b *Batch) exportedLocked(n, rejected int, answer error) {
	rejected = min(rejected, n)
	b.counts.exported.Add(int64(n - rejected))
	if answer != nil {
		b.rejectedLocked(rejected, answer)
	}
}

// consumeLocked removes the first n records of the chunk in flight, which
// were exported or given up, and reports whether that was the whole chunk
// (then returned to the queue for reuse).
func (b *Batch) consumeLocked(n int) (whole bool) {
	c := b.inflight
	if n < c.len() {
		clear(c.recs[c.start : c.start+n])
		c.start += n
	} else {
		b.q.put(c)
		b.inflight = nil
		whole = true
	}
	b.advanceLocked(n)
	return whole
}

// ErrDropped is wrapped by the errors that report dropped records.
var ErrDropped = errors.New("records dropped")

// unlock releases mu, then reports what was found while holding it: the
// handler may log, and logging comes back to OnEmit.
func (b *Batch) unlock() {
	reports := b.reports
	b.reports = nil
	b.mu.Unlock()
	for _, err := range reports {
		b.cfg.onError(err)
	}
}

// run is the one goroutine that calls Export.
func (b *Batch) run() {
	defer close(b.workerDone)
	defer b.interval.Stop()
	var retry *time.Timer
	var retryC <-chan time.Time
	var rt retrier // of the chunk in flight
	due := false
	var seenGen uint64
	for {
		if b.exportCtx.Err() != nil {
			return // Shutdown gave up: what is queued is counted there
		}
		b.mu.Lock()
		if b.inflight == nil && b.q.n > 0 &&
			(due || b.q.n >= b.cfg.batchSize || b.flushTo > b.done || b.quitting) {
			b.inflight = b.q.take()
			due = false
			b.armLocked() // for the records left behind
		}
		if b.inflight == nil || retryC != nil {
			if b.quitting && b.inflight == nil && b.q.n == 0 {
				b.mu.Unlock()
				return
			}
			// A new flush request cuts the current backoff short, once:
			// a flush waiting on a failing exporter tries it now, but a
			// loop of flushes cannot turn retries into a busy loop.
			newFlush := b.flushGen != seenGen
			seenGen = b.flushGen
			b.mu.Unlock()
			if newFlush && retryC != nil {
				retry.Stop()
				retryC = nil
				continue
			}
			select {
			case <-b.wake:
			case <-b.exportCtx.Done():
				return // Shutdown gave up, possibly while we wait out a backoff
			case <-b.interval.C:
				due = true
				b.mu.Lock()
				b.armed = false
				b.fires++
				b.mu.Unlock()
			case <-retryC:
				retryC = nil
			}
			continue
		}
		batch := rt.part(b.inflight.records())
		b.mu.Unlock()

		ctx, cancel := context.WithTimeout(b.exportCtx, b.cfg.timeout)
		err := b.callExport(ctx, batch)
		cancel()

		// A partial success is an answer, not a failure: the receiver
		// took the request and will never take the records it rejected.
		var answer error // the partial success, when there was one
		rejected, partial := partialSuccess(err)
		if partial {
			answer, err = err, nil
		}
		// A part that no wait can help is amended and tried again at
		// once. Not after an error the exporter marks final: it may have
		// written part of the batch, which a second Export would write
		// again. The records are the worker's alone: no lock needed.
		repaired, cut := 0, 0
		if err != nil && b.exportCtx.Err() == nil && retryable(err) {
			repaired, cut = b.amend(batch, &rt)
		}

		b.mu.Lock()
		if b.detached {
			b.mu.Unlock()
			return
		}
		if b.exportCtx.Err() != nil && err != nil {
			b.mu.Unlock()
			return
		}
		if repaired > 0 || cut > 0 {
			b.amendedLocked(repaired, cut, err)
			b.unlock()
			continue
		}
		if err != nil && retryable(err) && rt.retry(len(batch), b.cfg.maxRetryTime) {
			if b.failures.add(len(batch), err) {
				b.reportFailuresLocked()
			}
			retry = time.NewTimer(rt.backoff(b.cfg.maxBackoff))
			retryC = retry.C
			b.unlock()
			continue
		}
		n := len(batch)
		if err != nil {
			b.gaveUpLocked(n, err)
			rt.gaveUp()
		} else {
			b.exportedLocked(n, rejected, answer)
			rt.progressed()
		}
		if b.consumeLocked(n) {
			rt = retrier{}
		}
		b.unlock()
	}
}

// ForceFlush exports every record emitted before the call, then flushes
// the exporter. It returns nil only when both succeeded and no record was
// dropped since the previous flush (each drop is reported by exactly one
// flush). If ctx ends first, it returns an error wrapping ctx.Err(): the
// records it did not export stay queued, in order, for the next attempt.
// An exporter whose ForceFlush ignores ctx does not hold it past ctx
// either. After Shutdown it returns nil.
func (b *Batch) ForceFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("processor: %s: flush: %w", b.cfg.name, err)
	}
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return nil
	}
	err := b.exportAllLocked(ctx)
	b.reportPendingLocked()
	b.unlock()
	if err != nil {
		return err
	}
	if err := b.flushExporter(ctx); err != nil {
		return errors.Join(b.takeLoss(), fmt.Errorf("processor: %s: exporter flush: %w", b.cfg.name, err))
	}
	return b.takeLoss()
}

// exportAllLocked waits, releasing mu meanwhile, until every record queued
// so far is exported (or given up), or ctx ends.
func (b *Batch) exportAllLocked(ctx context.Context) error {
	target := b.enqueued
	if b.done >= target {
		return nil
	}
	b.flushTo = max(b.flushTo, target)
	b.flushGen++
	b.signalLocked()
	for b.done < target {
		if b.abandoned {
			return fmt.Errorf("processor: %s: flush: shut down before %d records were exported", b.cfg.name, target-b.done)
		}
		ch := b.progress
		b.mu.Unlock()
		select {
		case <-ch:
			b.mu.Lock()
		case <-ctx.Done():
			b.mu.Lock()
			if b.done >= target {
				return nil
			}
			return fmt.Errorf("processor: %s: flush: %d records not yet exported, still queued: %w",
				b.cfg.name, target-b.done, ctx.Err())
		}
	}
	return nil
}

func (b *Batch) takeLoss() error {
	if err := b.ledger.Take(); err != nil {
		return fmt.Errorf("processor: %s: %w", b.cfg.name, err)
	}
	return nil
}

// Shutdown exports what is queued within ctx, stops the goroutine and shuts
// the exporter down. It always does all three: if ctx ends first (or has
// already ended), the export in progress is cancelled, the records still
// queued are counted as dropped, and the error says how many; the
// exporter's Shutdown is still called, with ctx, so that it can release its
// own resources. Later and concurrent calls wait for the first within their
// own ctx and return its result. No goroutine outlives a Shutdown that
// returned, unless the exporter ignores its context: Shutdown waits 250ms
// past ctx for a cancelled Export, and for the exporter's Shutdown, to
// return, and then returns all the same, with an error that says what was
// left running (the SDK's processor too returns at ctx's end).
func (b *Batch) Shutdown(ctx context.Context) error {
	return b.shut.Do(ctx, "processor: "+b.cfg.name+": shutdown", func() error { return b.shutdown(ctx) })
}

func (b *Batch) shutdown(ctx context.Context) error {
	defer b.metrics.close()
	b.mu.Lock()
	b.stopped = true
	started := b.started
	var flushErr error
	if started {
		if ctx.Err() != nil {
			flushErr = fmt.Errorf("processor: %s: shutdown: %w", b.cfg.name, ctx.Err())
		} else {
			flushErr = b.exportAllLocked(ctx)
		}
		b.quitting = true
		b.signalLocked()
	}
	// Blocked emitters give up now: stopped refuses them.
	close(b.progress)
	b.progress = make(chan struct{})
	b.unlock()

	var lossErr, stuckErr error
	if started {
		if flushErr != nil {
			b.cancelExport()
		}
		stuck := !b.waitWorker(ctx)
		b.mu.Lock()
		left := b.q.clear()
		if b.inflight != nil {
			left += b.inflight.len()
			if !stuck {
				b.q.put(b.inflight)
			} // else the Export still running reads its records: not reused
			b.inflight = nil
		}
		if stuck {
			b.detached = true
			stuckErr = fmt.Errorf("processor: %s: shutdown: the exporter's Export did not return within %v of its context's cancellation; it is left running", b.cfg.name, shutdownGrace)
		}
		if left > 0 {
			b.dropLocked(left, reasonShutdown)
			b.abandoned = true
			b.advanceLocked(0) // wakes flushes still waiting for those records
		}
		b.reportPendingLocked()
		b.unlock()
		lossErr = b.takeLoss()
	}
	b.cancelExport()
	expErr := b.shutdownExporter(ctx)
	if expErr != nil {
		expErr = fmt.Errorf("processor: %s: exporter shutdown: %w", b.cfg.name, expErr)
	}
	if flushErr != nil {
		// The count is in lossErr; flushErr says why.
		return errors.Join(lossErr, flushErr, stuckErr, expErr)
	}
	return errors.Join(lossErr, stuckErr, expErr)
}

// shutdownGrace is how long Shutdown waits, past its context, for the
// exporter to honour the cancellation (of Export, of its own Shutdown):
// an exporter that ignores it (a write blocked on a full pipe) must not
// hold the caller, which is often a process on its way out.
const shutdownGrace = 250 * time.Millisecond

// waitWorker waits for the worker to end, and reports whether it did: once
// ctx ends, the export in progress is cancelled and the worker waited for
// shutdownGrace more at most.
func (b *Batch) waitWorker(ctx context.Context) bool {
	select {
	case <-b.workerDone:
		return true
	case <-ctx.Done():
	}
	b.cancelExport()
	return ctxsync.WaitFor(b.workerDone, shutdownGrace)
}

// shutdownExporter calls the exporter's Shutdown, which the Exporter
// contract allows while an Export still runs, and waits for it until ctx
// ends and shutdownGrace more.
func (b *Batch) shutdownExporter(ctx context.Context) error {
	_, err := ctxsync.Bounded(ctx, shutdownGrace, b.exporter.Shutdown)
	return err
}

// flushExporter calls the exporter's ForceFlush, bounded by ctx. A call
// left running past its caller's deadline is remembered, and a later flush
// first waits for it (within its own ctx): a stuck exporter then holds one
// goroutine of ours, not one per flush (FlushOnSeverity may flush at every
// error).
func (b *Batch) flushExporter(ctx context.Context) error {
	b.mu.Lock()
	running := b.flushRunning
	b.mu.Unlock()
	if running != nil {
		select {
		case <-running:
		case <-ctx.Done():
			return fmt.Errorf("an earlier call, left running past its deadline, has not returned: %w", ctx.Err())
		}
	}
	left, err := ctxsync.Bounded(ctx, 0, b.exporter.ForceFlush)
	if left != nil {
		b.mu.Lock()
		b.flushRunning = left
		b.mu.Unlock()
	}
	return err
}
