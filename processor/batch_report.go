package processor

import (
	"fmt"
	"time"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// Batch reports to its error handler what it dropped, gave up, retried,
// saw rejected or repaired. Each kind is coalesced: the handler may log
// (and logging comes back to OnEmit), and what is reported can recur at
// every record or every Export, so a kind is reported at most once a
// second, the rest by the next flush, or Shutdown.

// pending is one kind of report waiting to be made: how many records, in
// how many events, the last event's error, and when that kind was last
// reported.
type pending struct {
	records, events int
	last            error
	rep             onceASecond
}

// add notes an event involving n records and reports whether a report of
// its kind is due.
func (p *pending) add(n int, err error) bool {
	p.records += n
	p.events++
	p.last = err
	return p.rep.due()
}

// take returns what is pending and forgets it; events is 0 when nothing
// is.
func (p *pending) take() (records, events int, last error) {
	records, events, last = p.records, p.events, p.last
	p.records, p.events, p.last = 0, 0, nil
	return records, events, last
}

// onceASecond says yes at most once a second.
type onceASecond struct{ last time.Time }

// due reports whether a second has passed since it last said yes.
func (o *onceASecond) due() bool {
	now := time.Now()
	if now.Sub(o.last) < time.Second {
		return false
	}
	o.last = now
	return true
}

// reportPendingLocked makes every report still waiting, but the retries':
// a flush or Shutdown then accounts for everything before it returns.
func (b *Batch) reportPendingLocked() {
	b.reportDropsLocked()
	b.reportGiveUpsLocked()
	b.reportRejectsLocked()
	b.reportRepairsLocked()
	b.reportCutsLocked()
}

// reportLocked queues the report of what p holds, made by describe, if it
// holds anything.
func (b *Batch) reportLocked(p *pending, describe func(records, events int, last error) error) {
	if n, events, last := p.take(); events > 0 {
		b.reports = append(b.reports, describe(n, events, last))
	}
}

func (b *Batch) reportDropsLocked() {
	b.reportLocked(&b.drops, func(n, _ int, _ error) error {
		return fmt.Errorf("processor: %s: %w: %d records (queue of %d, policy %v)",
			b.cfg.name, ErrDropped, n, b.cfg.maxQueue, b.cfg.policy)
	})
}

func (b *Batch) reportFailuresLocked() {
	b.reportLocked(&b.failures, func(n, events int, last error) error {
		return fmt.Errorf("processor: %s: %d exports of %d records in all failed, retrying; the last: %w",
			b.cfg.name, events, n, last)
	})
}

func (b *Batch) reportGiveUpsLocked() {
	b.reportLocked(&b.giveUps, func(n, _ int, last error) error {
		return fmt.Errorf("processor: %s: %d records not exported: %w", b.cfg.name, n, last)
	})
}

func (b *Batch) reportRejectsLocked() {
	b.reportLocked(&b.rejects, func(n, events int, last error) error {
		return fmt.Errorf("processor: %s: %d records rejected by the receiver in %d partial successes, not retried; the last: %w",
			b.cfg.name, n, events, last)
	})
}

func (b *Batch) reportRepairsLocked() {
	b.reportLocked(&b.repairs, func(n, _ int, last error) error {
		return fmt.Errorf("processor: %s: %d records held strings that are not UTF-8, which OTLP forbids; "+
			"after the export failed, their invalid bytes were replaced by U+FFFD and the records tried again; the last failure: %w",
			b.cfg.name, n, last)
	})
}

func (b *Batch) reportCutsLocked() {
	b.reportLocked(&b.cuts, func(n, _ int, last error) error {
		return fmt.Errorf("processor: %s: %d records over %d bytes (WithMaxRecordBytes) kept failing alone; each was cut "+
			"(attribute %s) and tried again; the last failure: %w", b.cfg.name, n, b.cfg.maxRecord, encoding.TruncatedKey, last)
	})
}
