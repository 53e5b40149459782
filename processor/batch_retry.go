package processor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// retrier is what Batch's worker remembers of the failures of the chunk in
// flight: how many, since when, and how much of the chunk the next Export
// carries. A chunk that keeps failing is tried in halves, and halves of
// those: a receiver refusing a request for its size (a 413 from a proxy in
// front of the Collector) takes the halves, and a record it refuses for
// good ends up alone, holding back only itself, until the retry budget
// gives it up.
type retrier struct {
	failures int       // since the chunk was taken; lowered by progress
	since    time.Time // the first failure since the last progress: the budget runs from it
	lone     int       // failed attempts of a single record, since the last progress
	span     int       // records the next Export carries; 0: all that are left
}

// splitAfter is how many failed attempts a chunk gets whole before it is
// tried in halves. More than one: the first failure is most often the
// start of an outage, which halves do not help.
const splitAfter = 2

// giveUpAttempts is how many times a lone record must have failed, beside
// the retry budget, before it is given up.
const giveUpAttempts = 3

// part returns the records the next Export carries: the first span of
// those left.
func (r *retrier) part(left []sdklog.Record) []sdklog.Record {
	if r.span > 0 && r.span < len(left) {
		return left[:r.span]
	}
	return left
}

// retry counts a failed Export of n records and reports whether to try
// again (after backoff); false gives them up. Only a record that fails
// alone is given up: anything larger can still be narrowed down. And only
// after a few attempts, so that a process paused longer than the budget (a
// stopped container, a paused VM) does not count as the receiver refusing
// for that long.
func (r *retrier) retry(n int, budget time.Duration) bool {
	if r.failures == 0 {
		r.since = time.Now()
	}
	if n == 1 {
		r.lone++
		if r.lone >= giveUpAttempts && time.Since(r.since) >= budget {
			return false
		}
	}
	r.failures++
	if r.failures >= splitAfter && n > 1 {
		r.span = n / 2
	}
	return true
}

// progressed records that the part was exported: the receiver is up. The
// budget starts again, and the rest is split at its next failure, after a
// short backoff rather than one grown by the failures before.
func (r *retrier) progressed() {
	if r.failures > 0 {
		r.since = time.Now()
		r.failures = min(r.failures, splitAfter-1)
	}
	r.span, r.lone = 0, 0
}

// gaveUp records that the part was given up: the rest starts afresh.
func (r *retrier) gaveUp() { *r = retrier{} }

// backoff is exponential from 100ms up to limit, with full jitter so that
// many processes recovering together do not retry in lockstep. It grows
// with a lone record's attempts, not with the halving's: each halving
// step sends a smaller request, narrowing a refusal down, so it waits only
// the first intervals; an outage is waited out by the lone record.
func (r *retrier) backoff(limit time.Duration) time.Duration {
	k := min(r.failures, splitAfter) + r.lone
	ceiling := limit
	if k < 20 {
		ceiling = min(ceiling, 100*time.Millisecond<<(k-1))
	}
	return rand.N(ceiling) + time.Millisecond
}

// amend changes the part whose Export failed, where retrying it as it is
// cannot succeed however long Batch waits, and returns how many records it
// repaired and cut: strings that are not UTF-8 are repaired
// (batch_utf8.go); a lone record that has failed giveUpAttempts times and
// is over WithMaxRecordBytes (1 MiB) is cut to fit, once (batch_cut.go). A
// second failure finds nothing to amend and takes the usual retry path.
func (b *Batch) amend(part []sdklog.Record, rt *retrier) (repaired, cut int) {
	if repaired = repairUTF8(part); repaired > 0 {
		return repaired, 0
	}
	if len(part) == 1 && rt.lone >= giveUpAttempts-1 && b.cutOversized(&part[0]) {
		return 0, 1
	}
	return 0, 0
}

// amendedLocked reports what amend did after Export failed with cause.
func (b *Batch) amendedLocked(repaired, cut int, cause error) {
	if repaired > 0 && b.repairs.add(repaired, cause) {
		b.reportRepairsLocked()
	}
	if cut > 0 && b.cuts.add(cut, cause) {
		b.reportCutsLocked()
	}
}

// gaveUpLocked counts n records given up after err, for the metrics and
// the next flush, and reports them.
func (b *Batch) gaveUpLocked(n int, err error) {
	if retryable(err) {
		err = fmt.Errorf("retried for %v, giving up: %w", b.cfg.maxRetryTime, err)
	}
	b.counts.exportFailed.Add(int64(n))
	b.ledger.Lost(n, err)
	if b.giveUps.add(n, err) {
		b.reportGiveUpsLocked()
	}
}

// callExport exports batch. The exporter is the caller's and runs on
// Batch's goroutine, where a panic would end the program: it is contained
// as an export that retrying would not help (the batch is counted lost,
// error.type export_failed), and the next batch is exported as usual.
func (b *Batch) callExport(ctx context.Context, batch []sdklog.Record) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = exportPanic{v}
		}
	}()
	return b.exporter.Export(ctx, batch)
}

// exportPanic is the failure of an Export that panicked.
type exportPanic struct{ v any }

func (p exportPanic) Error() string   { return fmt.Sprintf("Export panicked: %v", p.v) }
func (p exportPanic) Retryable() bool { return false }

// retryable reports whether a failed Export may be tried again. An error
// says no with a method Retryable() bool returning false.
func retryable(err error) bool {
	if errors.Is(err, sdklog.ErrExporterShutdown) {
		return false
	}
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return true
}
