// Package shutdown flushes telemetry when the process is asked to stop.
//
// It works with anything that has ForceFlush(context.Context) error: the
// log, trace and meter providers of the OpenTelemetry SDK alike. On SIGTERM
// or SIGINT (configurable) it calls ForceFlush with a deadline (5 seconds by
// default, well inside Kubernetes' 30-second grace period), and then either
// re-raises the signal so the process exits exactly as it would have without
// a handler (Notify: status 143 for SIGTERM, 130 for SIGINT), or cancels a
// context so the application can shut down in its own way (NotifyContext).
// A second signal while the first is being handled exits at once.
//
// # Why ForceFlush first
//
// sdklog.LoggerProvider.Shutdown waits for in-flight calls before shutting
// its processors down; if its context ends during that wait it returns
// without calling any processor's Shutdown, and every later call is a no-op,
// so records still queued in a BatchProcessor are stranded. Notify therefore
// calls ForceFlush first, which pushes the queues out and is safe to call
// again, and only then, with what is left of the same deadline, calls
// Shutdown on targets that have it. Applications using NotifyContext should
// do the same in their own shutdown path: Flush, then Shutdown.
//
// # One target, or a Group
//
// Every function takes one target. Several (the log, trace and meter
// providers) go in a Group, which flushes them concurrently and names each
// one that failed:
//
//	stop := shutdown.Notify(shutdown.Group{loggerProvider, tracerProvider})
package shutdown

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/otel"
)

// Flusher is what shutdown flushes: sdklog.LoggerProvider,
// sdktrace.TracerProvider, sdkmetric.MeterProvider and our exporters all
// satisfy it.
type Flusher interface {
	ForceFlush(ctx context.Context) error
}

// Shutdowner is implemented by targets that can also be shut down.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// DefaultTimeout bounds the flush that follows a signal.
const DefaultTimeout = 5 * time.Second

// Flush calls target's ForceFlush within ctx. A target that ignores ctx
// cannot hold the caller past it: Flush stops waiting when ctx ends. To
// flush several targets at once, pass a Group. It is meant for defer and
// for shutdown paths that do not start with a signal.
func Flush(ctx context.Context, target Flusher) error {
	if g, ok := target.(Group); ok {
		return g.ForceFlush(ctx) // it bounds its members itself, and names them
	}
	return call(ctx, target.ForceFlush)
}

// FlushAndShutdown flushes target, then shuts it down if it implements
// Shutdowner, all within ctx. See the package documentation for why the
// flush comes first.
func FlushAndShutdown(ctx context.Context, target Flusher) error {
	flushErr := Flush(ctx, target)
	s, ok := target.(Shutdowner)
	if !ok || ctx.Err() != nil {
		return flushErr
	}
	if g, ok := target.(Group); ok {
		return errors.Join(flushErr, g.Shutdown(ctx))
	}
	return errors.Join(flushErr, call(ctx, s.Shutdown))
}

// call runs f on a goroutine and waits for it or for ctx. A panic in f is
// its error.
func call(ctx context.Context, f func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- contain(ctx, f) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// contain calls f, the caller's code, on a goroutine of ours, where a
// panic would end the process at once: with a stack trace instead of the
// signal's exit status, and without the other targets' flushes. The panic
// becomes f's error.
func contain(ctx context.Context, f func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("shutdown: panic: %v", v)
		}
	}()
	return f(ctx)
}

// Group is several targets handled as one: the log, trace and meter
// providers of a service, say. Its ForceFlush flushes every member at once
// and its Shutdown shuts down every member that can be; both wait for all
// members or for ctx, and their error names each member that failed.
type Group []Flusher

// ForceFlush flushes every member concurrently.
func (g Group) ForceFlush(ctx context.Context) error {
	return g.each(ctx, "flush", func(ctx context.Context, t Flusher) error { return t.ForceFlush(ctx) })
}

// Shutdown shuts down every member that implements Shutdowner,
// concurrently.
func (g Group) Shutdown(ctx context.Context) error {
	return g.each(ctx, "shutdown", func(ctx context.Context, t Flusher) error {
		if s, ok := t.(Shutdowner); ok {
			return s.Shutdown(ctx)
		}
		return nil
	})
}

// TargetError is one member's failure in a Group.
type TargetError struct {
	Index  int    // the member's position in the Group
	Target string // its name (a Name method's result, else its Go type)
	Op     string // flush or shutdown
	Err    error
}

func (e *TargetError) Error() string {
	return fmt.Sprintf("shutdown: %s of target %d (%s): %v", e.Op, e.Index, e.Target, e.Err)
}

func (e *TargetError) Unwrap() error { return e.Err }

func targetName(t Flusher) string {
	if n, ok := t.(interface{ Name() string }); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", t)
}

func (g Group) each(ctx context.Context, op string, f func(context.Context, Flusher) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(g))
	for i, t := range g {
		go func() {
			results <- result{i, contain(ctx, func(ctx context.Context) error { return f(ctx, t) })}
		}()
	}
	errs := make([]error, len(g))
	finished := make([]bool, len(g))
	pending := len(g)
	for pending > 0 {
		select {
		case r := <-results:
			pending--
			finished[r.i] = true
			if r.err != nil {
				errs[r.i] = &TargetError{Index: r.i, Target: targetName(g[r.i]), Op: op, Err: r.err}
			}
		case <-ctx.Done():
			for i := range errs {
				if !finished[i] {
					errs[i] = &TargetError{Index: i, Target: targetName(g[i]), Op: op, Err: ctx.Err()}
				}
			}
			return g.report(op, errs)
		}
	}
	return g.report(op, errs)
}

// report joins the members' failures and, when any failed, also says which
// members succeeded, so the final report of a shutdown names every target:
// what was flushed, and what failed with the loss it counted.
func (g Group) report(op string, errs []error) error {
	failed := errors.Join(errs...)
	if failed == nil {
		return nil
	}
	var ok []string
	for i, err := range errs {
		if err == nil {
			ok = append(ok, fmt.Sprintf("target %d (%s)", i, targetName(g[i])))
		}
	}
	if len(ok) == 0 {
		return failed
	}
	return &groupError{error: failed, summary: fmt.Sprintf("shutdown: %s of %s succeeded", op, strings.Join(ok, ", "))}
}

// groupError is a Group's failures plus the list of members that were
// fine; it unwraps to the failures only.
type groupError struct {
	error
	summary string
}

func (e *groupError) Error() string { return e.error.Error() + "\n" + e.summary }
func (e *groupError) Unwrap() error { return e.error }

// SignalError is the cause of a context cancelled by NotifyContext.
type SignalError struct {
	Signal os.Signal
	// Err is the error of the flush that followed the signal, if any.
	Err error
}

func (e *SignalError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("shutdown: received %v; flush failed: %v", e.Signal, e.Err)
	}
	return fmt.Sprintf("shutdown: received %v", e.Signal)
}

func (e *SignalError) Unwrap() error { return e.Err }

// Notify flushes target when one of the signals arrives, shuts it down if
// it can be (a Group: each member that can be), and then re-raises the signal with its default disposition,
// so the process ends as it would have without a handler. A second signal
// during the flush ends the process at once.
//
// stop stops the handling and restores what was there before: other
// signal.Notify channels are untouched, and a signal that was ignored is
// ignored again. It waits for a flush in progress.
func Notify(target Flusher, opts ...Option) (stop func()) {
	cfg := newConfig(opts)
	h := listen(context.Background(), cfg, func(sig os.Signal) {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
		defer cancel()
		if err := FlushAndShutdown(ctx, target); err != nil {
			cfg.onError(timeoutErr(sig, cfg.timeout, err))
		}
		exit(sig)
	})
	return h.stop
}

// NotifyContext flushes target when one of the signals arrives and then
// cancels the returned context, with a *SignalError as its cause, so the
// application can shut down: stop accepting work, then call Flush or
// FlushAndShutdown and return from main. A signal after the first ends the
// process at once. stop cancels the context and restores the previous signal
// handling, like signal.NotifyContext's stop.
func NotifyContext(parent context.Context, target Flusher, opts ...Option) (ctx context.Context, stop context.CancelFunc) {
	cfg := newConfig(opts)
	ctx, cancel := context.WithCancelCause(parent)
	h := listen(ctx, cfg, func(sig os.Signal) {
		fctx, fcancel := context.WithTimeout(context.Background(), cfg.timeout)
		defer fcancel()
		err := Flush(fctx, target)
		if err != nil {
			err = timeoutErr(sig, cfg.timeout, err)
			cfg.onError(err)
		}
		cancel(&SignalError{Signal: sig, Err: err})
	})
	return ctx, func() {
		h.stop()
		cancel(context.Canceled)
	}
}

// timeoutErr is the report of a flush that failed after sig: it names the
// deadline when that is what ended it, and each failing target (a Group's
// errors name theirs).
func timeoutErr(sig os.Signal, timeout time.Duration, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: flush on %v did not finish within %v (WithTimeout): %w", sig, timeout, err)
	}
	return fmt.Errorf("shutdown: flush on %v: %w", sig, err)
}

type handler struct {
	ch       chan os.Signal
	quit     chan struct{}
	done     chan struct{}
	signals  []os.Signal
	ignored  []os.Signal
	stopOnce sync.Once
}

// listen starts the goroutine that waits for the first signal, runs
// onSignal for it while watching for a second one, and after that exits the
// process on any further signal until stopped.
func listen(ctx context.Context, cfg config, onSignal func(os.Signal)) *handler {
	h := &handler{
		ch:      make(chan os.Signal, 2),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		signals: cfg.signals,
	}
	for _, s := range cfg.signals {
		if signal.Ignored(s) {
			h.ignored = append(h.ignored, s)
		}
	}
	signal.Notify(h.ch, cfg.signals...)
	go func() {
		defer close(h.done)
		var sig os.Signal
		select {
		case sig = <-h.ch:
		case <-h.quit:
			return
		case <-ctx.Done():
			return
		}
		handled := make(chan struct{})
		go func() {
			defer close(handled)
			onSignal(sig)
		}()
		select {
		case <-handled:
		case second := <-h.ch:
			exit(second)
		}
		select {
		case later := <-h.ch:
			exit(later)
		case <-h.quit:
		}
	}()
	return h
}

func (h *handler) stop() {
	h.stopOnce.Do(func() {
		signal.Stop(h.ch)
		close(h.quit)
		<-h.done
		if len(h.ignored) > 0 {
			signal.Ignore(h.ignored...)
		}
	})
}

// Option configures Notify and NotifyContext.
type Option interface {
	apply(*config)
}

type config struct {
	timeout time.Duration
	signals []os.Signal
	onError func(error)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

func newConfig(opts []Option) config {
	c := config{
		timeout: DefaultTimeout,
		signals: []os.Signal{syscall.SIGTERM, os.Interrupt},
		onError: otel.Handle,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// WithTimeout bounds the flush (and shutdown) that follows a signal. The
// default is DefaultTimeout. Non-positive values keep the default.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	})
}

// WithSignals sets the signals that start a flush. The default is SIGTERM
// and SIGINT. An empty list keeps the default.
func WithSignals(sigs ...os.Signal) Option {
	return optionFunc(func(c *config) {
		if len(sigs) > 0 {
			c.signals = sigs
		}
	})
}

// WithErrorHandler receives the error of a flush that failed or ran out of
// time. The default is otel.Handle, the OpenTelemetry error handler.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) {
		if f != nil {
			c.onError = f
		}
	})
}
