package processor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/internal/onceerr"
)

// MinSeverity forwards to next only records at or above a severity, which
// can be changed at run time. Its Enabled answers the same way, so slog and
// the OpenTelemetry API skip building records nobody will export. It
// forwards ForceFlush and Shutdown, and does not modify records.
type MinSeverity struct {
	min  atomic.Int32
	next sdklog.Processor
	shut onceerr.Once
}

// NewMinSeverity returns a MinSeverity passing records at or above min to
// next.
func NewMinSeverity(min log.Severity, next sdklog.Processor) *MinSeverity {
	m := &MinSeverity{next: next}
	m.min.Store(int32(min))
	return m
}

// SetMin changes the threshold; safe to call while records are emitted.
func (m *MinSeverity) SetMin(min log.Severity) { m.min.Store(int32(min)) }

// Min returns the current threshold.
func (m *MinSeverity) Min() log.Severity { return log.Severity(m.min.Load()) }

// Enabled reports false for severities below the threshold. An unset
// severity cannot be judged yet and is left to next.
func (m *MinSeverity) Enabled(ctx context.Context, p sdklog.EnabledParameters) bool {
	if p.Severity != 0 && p.Severity < m.Min() {
		return false
	}
	return m.next.Enabled(ctx, p)
}

// OnEmit forwards record if it is at or above the threshold.
func (m *MinSeverity) OnEmit(ctx context.Context, record *sdklog.Record) error {
	if record.Severity() < m.Min() {
		return nil
	}
	return m.next.OnEmit(ctx, record)
}

// Shutdown shuts next down, once: a later or concurrent call waits for
// the first (within its own ctx) and returns its result, so a failed
// shutdown is not turned into nil by next's answer to a second call (the
// SDK's processors answer nil).
func (m *MinSeverity) Shutdown(ctx context.Context) error {
	return m.shut.Do(ctx, "processor: MinSeverity: shutdown", func() error { return m.next.Shutdown(ctx) })
}

// ForceFlush flushes next.
func (m *MinSeverity) ForceFlush(ctx context.Context) error { return m.next.ForceFlush(ctx) }

// FlushOnSeverity forwards every record to next and, after one at or above
// a severity (ERROR by default), makes next flush, so an error logged just
// before a crash reaches its destination. fapilog declared this setting and
// never implemented it.
//
// Flushes are coalesced: while one runs, any number of further triggers
// cause exactly one more, so a burst of errors is not a burst of flushes.
// The flush runs on a goroutine of its own; the logging call waits for it at
// most WithFlushWait (by default not at all). The goroutine starts with the
// first trigger and ends with Shutdown.
type FlushOnSeverity struct {
	next    sdklog.Processor
	min     log.Severity
	timeout time.Duration
	wait    time.Duration
	onError func(error)

	once    sync.Once
	trigger chan struct{} // capacity 1: a pending flush absorbs more triggers
	quit    chan struct{}
	done    chan struct{}

	mu      sync.Mutex
	round   chan struct{} // closed when the flush covering current triggers ends
	stopped bool

	shut onceerr.Once
}

// FlushOption configures FlushOnSeverity.
type FlushOption interface{ applyFlush(*FlushOnSeverity) }

type flushOption func(*FlushOnSeverity)

func (f flushOption) applyFlush(p *FlushOnSeverity) { f(p) }

// WithFlushSeverity sets the lowest severity that triggers a flush. The
// default is log.SeverityError.
func WithFlushSeverity(min log.Severity) FlushOption {
	return flushOption(func(p *FlushOnSeverity) { p.min = min })
}

// WithFlushTimeout bounds each triggered flush. The default is 5s; zero or
// negative keeps it.
func WithFlushTimeout(d time.Duration) FlushOption {
	return flushOption(func(p *FlushOnSeverity) {
		if d > 0 {
			p.timeout = d
		}
	})
}

// WithFlushWait makes the logging call that triggered a flush wait for it,
// at most d. The default, 0, does not wait.
func WithFlushWait(d time.Duration) FlushOption {
	return flushOption(func(p *FlushOnSeverity) { p.wait = d })
}

// WithFlushErrorHandler receives errors of triggered flushes. The default
// (and nil) drops them: the downstream processor's exporter reports its own
// failures.
func WithFlushErrorHandler(f func(error)) FlushOption {
	return flushOption(func(p *FlushOnSeverity) {
		if f != nil {
			p.onError = f
		}
	})
}

// NewFlushOnSeverity wraps next.
func NewFlushOnSeverity(next sdklog.Processor, opts ...FlushOption) *FlushOnSeverity {
	p := &FlushOnSeverity{
		next: next, min: log.SeverityError, timeout: 5 * time.Second, onError: func(error) {},
		trigger: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		round: make(chan struct{}),
	}
	for _, o := range opts {
		o.applyFlush(p)
	}
	return p
}

// OnEmit forwards record, then triggers a flush if it is severe enough.
func (p *FlushOnSeverity) OnEmit(ctx context.Context, record *sdklog.Record) error {
	err := p.next.OnEmit(ctx, record)
	if record.Severity() < p.min {
		return err
	}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return err
	}
	p.once.Do(func() { go p.run() })
	round := p.round
	select {
	case p.trigger <- struct{}{}:
	default: // a flush is already pending; it will cover this record
	}
	p.mu.Unlock()
	if p.wait > 0 {
		t := time.NewTimer(p.wait)
		select {
		case <-round:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	return err
}

func (p *FlushOnSeverity) run() {
	defer close(p.done)
	for {
		select {
		case <-p.trigger:
		case <-p.quit:
			// select picks at random among ready cases: a trigger that
			// arrived before Shutdown still gets its flush.
			select {
			case <-p.trigger:
				p.flushRound()
			default:
			}
			return
		}
		p.flushRound()
	}
}

// flushRound flushes next once, for every trigger received so far.
func (p *FlushOnSeverity) flushRound() {
	// Records triggering from now on need a later flush: give them a new
	// round to wait for.
	p.mu.Lock()
	round := p.round
	p.round = make(chan struct{})
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	if err := p.flushNext(ctx); err != nil {
		p.onError(err)
	}
	cancel()
	close(round)
}

// flushNext flushes next on this processor's goroutine, where a panic in
// next would end the program: it is contained and reported instead.
func (p *FlushOnSeverity) flushNext(ctx context.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("processor: FlushOnSeverity: the wrapped processor's ForceFlush panicked: %v", v)
		}
	}()
	return p.next.ForceFlush(ctx)
}

// Enabled forwards to next.
func (p *FlushOnSeverity) Enabled(ctx context.Context, param sdklog.EnabledParameters) bool {
	return p.next.Enabled(ctx, param)
}

// ForceFlush flushes next.
func (p *FlushOnSeverity) ForceFlush(ctx context.Context) error { return p.next.ForceFlush(ctx) }

// Shutdown ends the flushing goroutine, after exactly one more flush if a
// trigger is pending, then shuts next down (which flushes it). If ctx ends
// while that flush runs, next is shut down all the same and the error
// wraps ctx.Err(); the goroutine ends when its flush does (bounded by
// WithFlushTimeout). It does so once: a later or concurrent call waits for
// the first (within its own ctx) and returns its result, so next is not
// shut down twice and a failed shutdown is not turned into nil.
func (p *FlushOnSeverity) Shutdown(ctx context.Context) error {
	return p.shut.Do(ctx, "processor: FlushOnSeverity: shutdown", func() error { return p.shutdown(ctx) })
}

func (p *FlushOnSeverity) shutdown(ctx context.Context) error {
	p.mu.Lock()
	started := !p.stopped
	p.stopped = true
	p.mu.Unlock()
	var waitErr error
	if started {
		close(p.quit)
		// The goroutine exists only if a trigger started it.
		p.once.Do(func() { close(p.done) })
		select {
		case <-p.done:
		case <-ctx.Done():
			waitErr = fmt.Errorf("processor: FlushOnSeverity: shutdown while a triggered flush runs: %w", ctx.Err())
		}
	}
	return errors.Join(waitErr, p.next.Shutdown(ctx))
}
