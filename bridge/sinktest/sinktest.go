// Package sinktest checks that a bridge.Sink keeps the sink contract, the way
// testing/fstest checks an fs.FS. Call Run from a test of your own sink:
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T) sinktest.Harness {
//			dest := newMemoryDestination()
//			return sinktest.Harness{Sink: mysink.New(dest), Delivered: dest.Entries}
//		})
//	}
//
// Run drives the sink through a bridge.Exporter, as an OpenTelemetry
// BatchProcessor would, and also calls its methods directly, never two at
// once: the sink contract (see bridge.Sink) lets a sink rely on the bridge
// to serialise Write, Start, Flush and Stop, and the kit holds to exactly
// that rule, calling the exporter concurrently where the SDK does.
//
// It checks that a successful ForceFlush means every exported entry is at
// the destination exactly once, in order, also after an Export of over a
// megabyte (which a bridge.BatchAppender gets in parts); that flushes are idempotent and safe to
// call concurrently through the exporter; that Flush honours an ended
// context (and, given Harness.Stall, a deadline while the destination
// hangs, without losing the stalled entries); that failures come back as
// errors rather than panics and that the flush after a failure reports it
// (given Harness.Fail); that Stop flushes; that Shutdown and Stop with an
// already ended context return promptly and still release every goroutine;
// that concurrent and repeated Shutdowns stop the sink once and agree on
// the result; that nothing is accepted after Stop; and that no goroutine
// outlives Stop. Run the suite with -race.
package sinktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/bridge"
)

// Harness is one fresh sink and a view of where its entries go.
type Harness struct {
	// Sink is a new sink that has not been started. Required.
	Sink bridge.Sink
	// Delivered returns the entries that have reached the destination so
	// far, oldest first, one JSON object each (split batches into entries).
	// Required.
	Delivered func() [][]byte
	// Stall, if set, makes the destination stop taking data (block, not
	// fail) until resume is called. It enables the deadline checks.
	Stall func() (resume func())
	// Fail, if set, makes the destination fail until heal is called. It
	// enables the error checks.
	Fail func() (heal func())
}

// Prompt is how long past its deadline a flush may take before Run calls it
// late. It is generous so that the suite does not flake under -race on a
// loaded machine; benchmarks measure the real overshoot.
var Prompt = time.Second

// Run runs every check, each as a subtest with its own harness.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	checks := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"ForceFlushDelivers", testForceFlushDelivers},
		{"LargeExportDelivers", testLargeExportDelivers},
		{"FlushIdempotent", testFlushIdempotent},
		{"FlushConcurrent", testFlushConcurrent},
		{"FlushEndedContext", testFlushEndedContext},
		{"FlushDeadlineWhileStalled", testFlushDeadlineWhileStalled},
		{"FailuresAreErrors", testFailuresAreErrors},
		{"EarlierLossReported", testEarlierLossReported},
		{"StopFlushes", testStopFlushes},
		{"ShutdownEndedContext", testShutdownEndedContext},
		{"StopEndedContext", testStopEndedContext},
		{"ShutdownConcurrent", testShutdownConcurrent},
		{"NothingAfterStop", testNothingAfterStop},
		{"UnusedSinkStops", testUnusedSinkStops},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			// Registered first, so it runs after the exporter's own
			// cleanup has shut the sink down.
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() {
				if err := goleak.Find(ignore); err != nil {
					t.Errorf("goroutines outlived Stop: %v", err)
				}
			})
			h := newHarness(t)
			if h.Sink == nil || h.Delivered == nil {
				t.Fatal("sinktest: Harness needs Sink and Delivered")
			}
			c.fn(t, h)
		})
	}
}

// env holds one check's exporter and the messages sent so far.
type env struct {
	t    *testing.T
	h    Harness
	exp  *bridge.Exporter
	sent []string
}

func newEnv(t *testing.T, h Harness) *env {
	exp, err := bridge.NewExporter(h.Sink, bridge.WithName("sinktest"))
	if err != nil {
		t.Fatalf("bridge.NewExporter: %v", err)
	}
	e := &env{t: t, h: h, exp: exp}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = exp.Shutdown(ctx)
	})
	return e
}

// export sends n records as one batch, each with a unique message.
func (e *env) export(n int) error {
	recs := make([]sdklog.Record, n)
	for i := range recs {
		msg := fmt.Sprintf("sinktest entry %d", len(e.sent))
		e.sent = append(e.sent, msg)
		recs[i] = logtest.RecordFactory{
			Timestamp: time.Now(), Severity: log.SeverityInfo, SeverityText: "INFO",
			Body:       attribute.StringValue(msg),
			Attributes: []attribute.KeyValue{attribute.Int("seq", len(e.sent)-1)},
		}.NewRecord()
	}
	return e.exp.Export(context.Background(), recs)
}

func (e *env) mustExport(n int) {
	e.t.Helper()
	if err := e.export(n); err != nil {
		e.t.Fatalf("Export: %v", err)
	}
}

func (e *env) mustFlush() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.exp.ForceFlush(ctx); err != nil {
		e.t.Fatalf("ForceFlush: %v", err)
	}
}

// requireDelivered checks that the destination holds exactly the messages
// sent, each once, in order.
func (e *env) requireDelivered() {
	e.t.Helper()
	got := e.h.Delivered()
	msgs := make([]string, 0, len(got))
	for i, entry := range got {
		var line struct {
			Log struct {
				Message string `json:"message"`
			} `json:"log"`
		}
		if err := json.Unmarshal(entry, &line); err != nil {
			e.t.Fatalf("delivered entry %d is not a JSON envelope: %v: %q", i, err, entry)
		}
		msgs = append(msgs, line.Log.Message)
	}
	if len(msgs) != len(e.sent) {
		e.t.Fatalf("destination holds %d entries, want %d", len(msgs), len(e.sent))
	}
	for i := range msgs {
		if msgs[i] != e.sent[i] {
			e.t.Fatalf("entry %d is %q, want %q (lost, duplicated or reordered)", i, msgs[i], e.sent[i])
		}
	}
}

func testForceFlushDelivers(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for range 3 {
		e.mustExport(100)
	}
	e.mustFlush()
	e.requireDelivered()
	if hc, ok := h.Sink.(bridge.HealthChecker); ok {
		if err := hc.HealthCheck(context.Background()); err != nil {
			t.Fatalf("HealthCheck after a successful flush: %v", err)
		}
	}
}

// testLargeExportDelivers sends one Export of over a megabyte, which the
// bridge hands a BatchAppender in parts.
func testLargeExportDelivers(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.mustExport(5000)
	e.mustFlush()
	e.requireDelivered()
}

func testFlushIdempotent(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.mustExport(50)
	for range 3 {
		e.mustFlush()
	}
	if f, ok := h.Sink.(bridge.Flusher); ok {
		for range 2 {
			if err := f.Flush(context.Background()); err != nil {
				t.Fatalf("repeated Flush: %v", err)
			}
		}
	}
	e.requireDelivered()
}

// testFlushConcurrent calls the exporter's ForceFlush from several
// goroutines while another exports, as a provider's ForceFlush, the
// BatchProcessor's worker and a signal handler do; the bridge serialises
// what reaches the sink.
func testFlushConcurrent(t *testing.T, h Harness) {
	e := newEnv(t, h)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if err := e.exp.ForceFlush(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 20 {
		if err := e.export(10); err != nil {
			errs <- err
			break
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent flush or export: %v", err)
	}
	e.mustFlush()
	e.requireDelivered()
}

func testFlushEndedContext(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.mustExport(10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := e.exp.ForceFlush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("ForceFlush with a canceled context = %v, want an error wrapping context.Canceled", err)
	}
	if f, ok := h.Sink.(bridge.Flusher); ok {
		if err := f.Flush(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Flush with a canceled context = %v, want an error wrapping context.Canceled", err)
		}
	}
	if d := time.Since(start); d > Prompt {
		t.Fatalf("flushes with a canceled context took %v", d)
	}
	e.mustFlush()
	e.requireDelivered()
}

func testFlushDeadlineWhileStalled(t *testing.T, h Harness) {
	if h.Stall == nil {
		t.Skip("Harness.Stall not set")
	}
	e := newEnv(t, h)
	e.mustExport(20)
	resume := h.Stall()
	// Entries exported after the stall cannot have reached the
	// destination, whatever the sink did with the earlier ones.
	e.mustExport(20)
	resumed := false
	defer func() {
		if !resumed {
			resume()
		}
	}()
	const deadline = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err := e.exp.ForceFlush(ctx)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ForceFlush on a stalled destination = %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if took > deadline+Prompt {
		t.Fatalf("ForceFlush returned %v after a %v deadline", took, deadline)
	}
	resume()
	resumed = true
	e.mustFlush()
	e.requireDelivered()
}

func testFailuresAreErrors(t *testing.T, h Harness) {
	if h.Fail == nil {
		t.Skip("Harness.Fail not set")
	}
	e := newEnv(t, h)
	heal := h.Fail()
	healed := false
	defer func() {
		if !healed {
			heal()
		}
	}()
	exportErr := e.export(10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	flushErr := e.exp.ForceFlush(ctx)
	if exportErr == nil && flushErr == nil {
		t.Fatal("Export and ForceFlush both succeeded while the destination was failing")
	}
	var pe *bridge.PanicError
	if errors.As(exportErr, &pe) || errors.As(flushErr, &pe) {
		t.Fatalf("sink panicked: %v", pe)
	}
	heal()
	healed = true
	// Entries written during the failure may or may not have landed; those
	// written after it must.
	before := len(h.Delivered())
	e.sent = e.sent[:0]
	e.mustExport(10)
	e.mustFlush()
	got := h.Delivered()
	if len(got)-before < 10 {
		t.Fatalf("after the destination healed, %d of 10 new entries arrived", len(got)-before)
	}
	if hc, ok := h.Sink.(bridge.HealthChecker); ok {
		if err := hc.HealthCheck(context.Background()); err != nil {
			t.Fatalf("HealthCheck after recovery: %v", err)
		}
	}
}

// testEarlierLossReported is the case a flush must not hide: entries fail
// in the background (no flush running), the destination heals, and only
// then does a flush come. Unless every entry was delivered after all, that
// flush must fail, and the one after it must not fail again for the same
// loss. It needs Harness.Fail.
func testEarlierLossReported(t *testing.T, h Harness) {
	if h.Fail == nil {
		t.Skip("Harness.Fail not set")
	}
	e := newEnv(t, h)
	e.mustExport(1) // started, and healthy
	e.mustFlush()
	heal := h.Fail()
	exportErr := e.export(10)
	// A sink with a HealthCheck says when its background attempt failed;
	// wait for that (up to 5 s). A sink without one may not try until the
	// flush: the assertion below holds either way.
	if hc, ok := h.Sink.(bridge.HealthChecker); ok {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if hc.HealthCheck(context.Background()) != nil {
				break
			}
			time.Sleep(5 * time.Millisecond) // polling a health check: no event to wait on
		}
	}
	heal()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	flushErr := e.exp.ForceFlush(ctx)
	delivered := len(h.Delivered())
	if exportErr == nil && flushErr == nil && delivered < len(e.sent) {
		t.Fatalf("ForceFlush returned nil although %d of %d entries never arrived: an earlier loss was hidden", len(e.sent)-delivered, len(e.sent))
	}
	if err := e.exp.ForceFlush(ctx); err != nil {
		t.Fatalf("the flush after the one that reported the loss = %v, want nil: a loss is reported once", err)
	}
}

func testStopFlushes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.mustExport(100)
	e.mustExport(7)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.exp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	e.requireDelivered()
}

// testShutdownEndedContext is what the SDK's BatchProcessor does when its
// last export ran out of time: Shutdown with a context that has already
// ended. Shutdown must return promptly, and the sink must still release
// everything (the goroutine check after the test waits for work the sink
// finishes in the background). A nil result promises every entry
// delivered; an error must not be hidden by a second call.
func testShutdownEndedContext(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.mustExport(25)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := e.exp.Shutdown(ctx)
	if d := time.Since(start); d > Prompt {
		t.Fatalf("Shutdown with an ended context took %v", d)
	}
	var pe *bridge.PanicError
	if errors.As(err, &pe) {
		t.Fatalf("sink panicked: %v", pe)
	}
	if again := e.exp.Shutdown(context.Background()); (again == nil) != (err == nil) {
		t.Fatalf("second Shutdown = %v after a first that returned %v: a failure must not be hidden", again, err)
	}
	if err := e.export(1); !errors.Is(err, sdklog.ErrExporterShutdown) {
		t.Fatalf("Export after Shutdown = %v, want sdklog.ErrExporterShutdown", err)
	}
	e.sent = e.sent[:len(e.sent)-1]
	select {
	case <-e.exp.Stopped():
	case <-time.After(10 * time.Second):
		t.Fatal("the sink's Stop never ran after Shutdown with an ended context")
	}
	if err == nil {
		e.requireDelivered()
	}
}

// testStopEndedContext calls the sink's own Stop with an ended context.
func testStopEndedContext(t *testing.T, h Harness) {
	s, ok := h.Sink.(bridge.Stopper)
	if !ok {
		t.Skip("the sink has no Stop")
	}
	e := newEnv(t, h)
	e.mustExport(25)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := s.Stop(ctx)
	if d := time.Since(start); d > Prompt {
		t.Fatalf("Stop with an ended context took %v", d)
	}
	if again := s.Stop(context.Background()); (again == nil) != (err == nil) {
		t.Fatalf("second Stop = %v after a first that returned %v", again, err)
	}
	if err := h.Sink.Write(context.Background(), []byte(`{"late":true}`)); err == nil {
		t.Fatal("the sink accepted a Write after Stop")
	}
	if err == nil {
		e.requireDelivered()
	}
}

// testShutdownConcurrent shuts the exporter down from several goroutines
// at once, while a ForceFlush runs: the sink is stopped once, every call
// returns the same result, and what was exported is delivered.
func testShutdownConcurrent(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.mustExport(40)
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if i == 0 {
				_ = e.exp.ForceFlush(ctx)
			}
			results <- e.exp.Shutdown(ctx)
		}()
	}
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Fatalf("concurrent Shutdown: %v", err)
		}
	}
	e.requireDelivered()
}

func testNothingAfterStop(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.mustExport(5)
	if err := e.exp.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := e.export(1); !errors.Is(err, sdklog.ErrExporterShutdown) {
		t.Fatalf("Export after Shutdown = %v, want sdklog.ErrExporterShutdown", err)
	}
	e.sent = e.sent[:len(e.sent)-1]
	if err := e.exp.ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush after Shutdown = %v, want nil", err)
	}
	if err := e.exp.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown = %v, want nil", err)
	}
	if s, ok := h.Sink.(bridge.Stopper); ok {
		if err := h.Sink.Write(context.Background(), []byte(`{"late":true}`)); err == nil {
			t.Fatal("the sink accepted a Write after Stop")
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Fatalf("second Stop = %v, want nil", err)
		}
	}
	e.requireDelivered()
}

func testUnusedSinkStops(t *testing.T, h Harness) {
	if f, ok := h.Sink.(bridge.Flusher); ok {
		if err := f.Flush(context.Background()); err != nil {
			t.Fatalf("Flush of a sink never written to: %v", err)
		}
	}
	if s, ok := h.Sink.(bridge.Stopper); ok {
		for range 2 {
			if err := s.Stop(context.Background()); err != nil {
				t.Fatalf("Stop of a sink never started: %v", err)
			}
		}
	}
	if n := len(h.Delivered()); n != 0 {
		t.Fatalf("an unused sink delivered %d entries", n)
	}
}
