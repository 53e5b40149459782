package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/bridge"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recSink records every call, checks that calls never overlap, and can be
// told to fail, panic or block.
type recSink struct {
	mu      sync.Mutex
	calls   []string
	entries [][]byte
	inCall  atomic.Int32
	overlap atomic.Bool

	startErr  error
	writeErr  func(entry []byte) error
	panicOn   string
	block     chan struct{} // Write and Flush wait on it when set
	flushErr  error
	healthErr error
}

func (s *recSink) enter(name string) func() {
	if s.inCall.Add(1) > 1 {
		s.overlap.Store(true)
	}
	s.mu.Lock()
	s.calls = append(s.calls, name)
	s.mu.Unlock()
	if s.panicOn == name {
		s.inCall.Add(-1)
		panic("boom in " + name)
	}
	return func() { s.inCall.Add(-1) }
}

func (s *recSink) Start(context.Context) error {
	defer s.enter("Start")()
	return s.startErr
}

func (s *recSink) Write(ctx context.Context, entry []byte) error {
	defer s.enter("Write")()
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.writeErr != nil {
		if err := s.writeErr(entry); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.entries = append(s.entries, entry) // deliberately not copied: see TestExportBufferReuse
	s.mu.Unlock()
	return nil
}

func (s *recSink) Flush(ctx context.Context) error {
	defer s.enter("Flush")()
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.flushErr
}

func (s *recSink) Stop(context.Context) error {
	defer s.enter("Stop")()
	return nil
}

func (s *recSink) HealthCheck(context.Context) error { return s.healthErr }

func (s *recSink) callList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func records(msgs ...string) []sdklog.Record {
	out := make([]sdklog.Record, len(msgs))
	for i, m := range msgs {
		out[i] = logtest.RecordFactory{Timestamp: time.Now(), Body: attribute.StringValue(m)}.NewRecord()
	}
	return out
}

func newExporter(t *testing.T, s bridge.Sink, opts ...bridge.Option) *bridge.Exporter {
	t.Helper()
	e, err := bridge.NewExporter(s, opts...)
	require.NoError(t, err)
	return e
}

func TestNewExporterValidates(t *testing.T) {
	_, err := bridge.NewExporter(nil)
	assert.ErrorIs(t, err, bridge.ErrNilSink)
	_, err = bridge.NewExporter(&recSink{}, bridge.WithFormat(bridge.Format(9)))
	assert.ErrorContains(t, err, "WithFormat")
	e := newExporter(t, &recSink{})
	assert.Equal(t, "*bridge_test.recSink", e.Name())
	assert.Equal(t, "mine", newExporter(t, &recSink{}, bridge.WithName("mine")).Name())
}

func TestLifecycleOrder(t *testing.T) {
	s := &recSink{}
	e := newExporter(t, s)
	ctx := context.Background()
	require.NoError(t, e.ForceFlush(ctx))
	require.NoError(t, e.Export(ctx, records("a", "b")))
	require.NoError(t, e.Export(ctx, records("c")))
	require.NoError(t, e.ForceFlush(ctx))
	require.NoError(t, e.Shutdown(ctx))
	require.NoError(t, e.Shutdown(ctx))
	require.NoError(t, e.ForceFlush(ctx))
	assert.ErrorIs(t, e.Export(ctx, records("late")), sdklog.ErrExporterShutdown)
	assert.Equal(t, []string{"Flush", "Start", "Write", "Write", "Write", "Flush", "Flush", "Stop"}, s.callList())
}

func TestStartFailureRetriedUntilItSucceeds(t *testing.T) {
	s := &recSink{startErr: errors.New("dir missing")}
	e := newExporter(t, s, bridge.WithName("files"))
	err := e.Export(context.Background(), records("a", "b"))
	require.Error(t, err)
	assert.ErrorIs(t, err, s.startErr)
	assert.ErrorContains(t, err, "files")
	assert.ErrorContains(t, err, "2 entries not written")
	s.startErr = nil
	require.NoError(t, e.Export(context.Background(), records("c")))
	require.NoError(t, e.Export(context.Background(), records("d")))
	assert.Equal(t, []string{"Start", "Start", "Write", "Write"}, s.callList())
	require.NoError(t, e.Shutdown(context.Background()))
}

func TestWriteErrorsCountedAndOthersWritten(t *testing.T) {
	bad := errors.New("too large")
	s := &recSink{writeErr: func(entry []byte) error {
		var m struct{ Log struct{ Message string } }
		_ = json.Unmarshal(entry, &m)
		if m.Log.Message == "bad" {
			return bad
		}
		return nil
	}}
	e := newExporter(t, s)
	err := e.Export(context.Background(), records("ok1", "bad", "ok2", "bad"))
	assert.ErrorIs(t, err, bad)
	assert.ErrorContains(t, err, "2 of 4 entries not written")
	assert.Len(t, s.entries, 2)
	require.NoError(t, e.Shutdown(context.Background()))
}

// A panic is recovered, reported once, and disables the sink: no later
// call reaches it except the one Stop that releases it.
func TestPanicDisablesTheSink(t *testing.T) {
	for _, method := range []string{"Start", "Write", "Flush"} {
		t.Run(method, func(t *testing.T) {
			var mu sync.Mutex
			var reported []error
			otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
			t.Cleanup(func() { otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {})) })

			s := &recSink{panicOn: method}
			e := newExporter(t, s)
			ctx := context.Background()
			first := errors.Join(e.Export(ctx, records("a", "b")), e.ForceFlush(ctx))
			var pe *bridge.PanicError
			require.ErrorAs(t, first, &pe)
			assert.Equal(t, method, pe.Method)
			assert.Contains(t, pe.Error(), "boom in "+method)
			calls := len(s.callList())

			err := e.Export(ctx, records("c"))
			require.ErrorIs(t, err, bridge.ErrSinkDisabled)
			require.ErrorAs(t, err, &pe, "the cause stays visible")
			var ee *bridge.ExportError
			require.ErrorAs(t, err, &ee)
			assert.False(t, ee.Retryable(), "a disabled sink will not take them on a retry")
			assert.ErrorIs(t, e.ForceFlush(ctx), bridge.ErrSinkDisabled)
			assert.ErrorIs(t, e.HealthCheck(ctx), bridge.ErrSinkDisabled)
			assert.Equal(t, calls, len(s.callList()), "the sink was not called again")

			assert.ErrorIs(t, e.Shutdown(ctx), bridge.ErrSinkDisabled)
			assert.Equal(t, "Stop", s.callList()[len(s.callList())-1], "Stop still releases the sink")
			mu.Lock()
			assert.Len(t, reported, 1, "reported once")
			mu.Unlock()
		})
	}
}

// A panic in Stop is recovered and returned by Shutdown.
func TestPanicInStop(t *testing.T) {
	e := newExporter(t, &recSink{panicOn: "Stop"})
	var pe *bridge.PanicError
	require.ErrorAs(t, e.Shutdown(context.Background()), &pe)
	assert.Equal(t, "Stop", pe.Method)
}

// batchSink is a BatchWriter: it records each call's entries (copied) and
// refuses the entries failEvery says.
type batchSink struct {
	calls     [][]string
	failFirst int
	panics    bool
}

func (s *batchSink) Write(context.Context, []byte) error {
	panic("Write is not called on a BatchWriter")
}

func (s *batchSink) WriteBatch(_ context.Context, entries [][]byte) (int, error) {
	if s.panics {
		panic("boom in WriteBatch")
	}
	var got []string
	for _, e := range entries {
		got = append(got, string(e))
	}
	s.calls = append(s.calls, got)
	if s.failFirst > 0 {
		return s.failFirst, errors.New("refused")
	}
	return 0, nil
}

// A BatchWriter gets each Export in one call, every entry whole and in
// order; a truncated record is cut in place; what it refuses is counted.
func TestBatchWriter(t *testing.T) {
	s := &batchSink{}
	e := newExporter(t, s, bridge.WithMaxEntryBytes(4<<10))
	recs := records("a", strings.Repeat("x", 10<<10), "c")
	require.NoError(t, e.Export(context.Background(), recs))
	require.Len(t, s.calls, 1, "one call for the Export")
	require.Len(t, s.calls[0], 3)
	for i, want := range []string{"a", "", "c"} {
		var env struct{ Log struct{ Message string } }
		require.NoError(t, json.Unmarshal([]byte(s.calls[0][i]), &env), "entry %d is whole JSON", i)
		if want != "" {
			assert.Equal(t, want, env.Log.Message)
		} else {
			assert.Less(t, len(s.calls[0][i]), 4<<10)
			assert.Contains(t, s.calls[0][i], bridge.TruncatedKey)
		}
	}
	assert.EqualValues(t, 1, e.Truncated())

	s.failFirst = 2
	err := e.Export(context.Background(), records("d", "e", "f"))
	var ee *bridge.ExportError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.Failed)
	assert.Equal(t, 3, ee.Total)
	require.NoError(t, e.Shutdown(context.Background()))

	p := &batchSink{panics: true}
	e = newExporter(t, p)
	err = e.Export(context.Background(), records("g", "h"))
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.Failed, "a panic fails the whole call")
	assert.ErrorIs(t, err, bridge.ErrSinkDisabled)
	assert.ErrorIs(t, e.Shutdown(context.Background()), bridge.ErrSinkDisabled)
}

// appendSink is a BatchAppender: it records every call, in order, and
// refuses or panics in AppendBatch as told.
type appendSink struct {
	batchSink
	appends     int
	refuseParts int // AppendBatch refuses its last entry from this part on
	panicPart   int // AppendBatch panics in this part (1-based); 0 never
}

func (s *appendSink) AppendBatch(ctx context.Context, entries [][]byte) (int, error) {
	s.appends++
	if s.appends == s.panicPart {
		panic("boom in AppendBatch")
	}
	if _, err := s.WriteBatch(ctx, entries); err != nil {
		return 0, err
	}
	s.calls[len(s.calls)-1] = append([]string{"append"}, s.calls[len(s.calls)-1]...)
	if s.refuseParts > 0 && s.appends >= s.refuseParts {
		return 1, errors.New("refused")
	}
	return 0, nil
}

// A large Export reaches a BatchAppender in parts, each but the last
// through AppendBatch, every entry once and in order; a refused part ends
// the Export with the rest counted as failed, and not retryable.
func TestBatchAppenderGetsParts(t *testing.T) {
	big := strings.Repeat("x", 40<<10) // ~40 KiB per entry: a part holds 7
	msgs := make([]string, 20)
	for i := range msgs {
		msgs[i] = fmt.Sprintf("%02d%s", i, big)
	}
	s := &appendSink{}
	e := newExporter(t, s)
	require.NoError(t, e.Export(context.Background(), records(msgs...)))
	require.Greater(t, len(s.calls), 1, "more than one part")
	var got []string
	for i, call := range s.calls {
		last := i == len(s.calls)-1
		assert.Equal(t, !last, call[0] == "append", "call %d: AppendBatch for every part but the last", i)
		if !last {
			call = call[1:]
		}
		for _, entry := range call {
			var env struct{ Log struct{ Message string } }
			require.NoError(t, json.Unmarshal([]byte(entry), &env))
			got = append(got, env.Log.Message)
		}
	}
	assert.Equal(t, msgs, got)
	require.NoError(t, e.Shutdown(context.Background()))

	s = &appendSink{refuseParts: 1}
	e = newExporter(t, s)
	err := e.Export(context.Background(), records(msgs...))
	var ee *bridge.ExportError
	require.ErrorAs(t, err, &ee)
	assert.Len(t, s.calls, 1, "nothing is offered after a refused part")
	assert.Equal(t, len(msgs)-len(s.calls[0])+1+1, ee.Failed, "the refused entry and every entry after it")
	assert.False(t, ee.Retryable(), "part of the Export was written")
	require.NoError(t, e.Shutdown(context.Background()))

	s = &appendSink{panicPart: 2}
	e = newExporter(t, s)
	err = e.Export(context.Background(), records(msgs...))
	require.ErrorAs(t, err, &ee)
	assert.ErrorIs(t, err, bridge.ErrSinkDisabled)
	var pe *bridge.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "AppendBatch", pe.Method)
	assert.Equal(t, len(msgs)-len(s.calls[0])+1, ee.Failed, "every entry after the first part")
	assert.ErrorIs(t, e.Shutdown(context.Background()), bridge.ErrSinkDisabled)
}

func TestExportHonoursContextWhileSinkBusy(t *testing.T) {
	s := &recSink{block: make(chan struct{})}
	e := newExporter(t, s)
	done := make(chan error, 1)
	go func() { done <- e.Export(context.Background(), records("stuck")) }()
	waitFor(t, func() bool { return len(s.callList()) >= 2 }) // Start, Write entered

	for _, call := range []func(context.Context) error{
		func(ctx context.Context) error { return e.Export(ctx, records("queued")) },
		e.ForceFlush,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), time.Second)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, e.Export(canceled, records("x")), context.Canceled)

	close(s.block)
	require.NoError(t, <-done)
	require.NoError(t, e.Shutdown(context.Background()))
	assert.False(t, s.overlap.Load(), "the bridge called into the sink concurrently")
}

func TestShutdownWhileSinkBusy(t *testing.T) {
	s := &recSink{block: make(chan struct{})}
	e := newExporter(t, s)
	done := make(chan error, 1)
	go func() { done <- e.Export(context.Background(), records("stuck")) }()
	waitFor(t, func() bool { return len(s.callList()) >= 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := e.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "will be stopped when it returns")
	assert.Equal(t, err, e.Shutdown(context.Background()), "a later Shutdown returns the first one's failure")
	assert.NotContains(t, s.callList(), "Stop", "Stop waits for the running call")
	close(s.block)
	require.NoError(t, <-done)
	select {
	case <-e.Stopped():
	case <-time.After(5 * time.Second):
		t.Fatal("the sink was never stopped after its call returned")
	}
	assert.Equal(t, "Stop", s.callList()[len(s.callList())-1])
	assert.False(t, s.overlap.Load(), "Stop overlapped the running call")
}

// The SDK's BatchProcessor calls Shutdown with an ended context when its
// last export ran out of time: the sink must still be stopped.
func TestShutdownEndedContextStopsSink(t *testing.T) {
	s := &recSink{flushErr: nil}
	e := newExporter(t, s)
	require.NoError(t, e.Export(context.Background(), records("a")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.Shutdown(ctx)
	assert.ErrorIs(t, err, context.Canceled, "the flush could not run")
	assert.Equal(t, []string{"Start", "Write", "Stop"}, s.callList(), "Stop is called even on an ended context")
	<-e.Stopped()
	assert.Equal(t, err, e.Shutdown(context.Background()), "the failure is not hidden by a second call")
	assert.ErrorIs(t, e.Export(context.Background(), records("late")), sdklog.ErrExporterShutdown)
	assert.NoError(t, e.ForceFlush(context.Background()))
}

func TestShutdownTwiceAndConcurrently(t *testing.T) {
	s := &recSink{}
	e := newExporter(t, s)
	require.NoError(t, e.Export(context.Background(), records("a")))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, e.Shutdown(context.Background()))
		}()
	}
	wg.Wait()
	require.NoError(t, e.Shutdown(context.Background()))
	stops := 0
	for _, c := range s.callList() {
		if c == "Stop" {
			stops++
		}
	}
	assert.Equal(t, 1, stops, "Stop is called exactly once")
	assert.False(t, s.overlap.Load())
}

func TestConcurrentCallsAreSerialised(t *testing.T) {
	s := &recSink{}
	e := newExporter(t, s)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if g%2 == 0 {
					assert.NoError(t, e.Export(context.Background(), records("a", "b", "c")))
				} else {
					assert.NoError(t, e.ForceFlush(context.Background()))
				}
			}
		}()
	}
	wg.Wait()
	var shutdowns sync.WaitGroup
	for range 4 {
		shutdowns.Add(1)
		go func() { defer shutdowns.Done(); assert.NoError(t, e.Shutdown(context.Background())) }()
	}
	shutdowns.Wait()
	assert.False(t, s.overlap.Load(), "the bridge called into the sink concurrently")
	stops := 0
	for _, c := range s.callList() {
		if c == "Stop" {
			stops++
		}
	}
	assert.Equal(t, 1, stops)
	assert.Len(t, s.entries, 4*50*3)
}

// The bridge reuses its encoding buffer: a sink that keeps entries without
// copying them sees them overwritten, which is why the contract says copy.
func TestExportBufferReuse(t *testing.T) {
	s := &recSink{}
	e := newExporter(t, s)
	require.NoError(t, e.Export(context.Background(), records("first", "second")))
	assert.Equal(t, &s.entries[0][0], &s.entries[1][0], "entries share the exporter's buffer")
	require.NoError(t, e.Shutdown(context.Background()))
}

func TestHealthCheck(t *testing.T) {
	s := &recSink{healthErr: errors.New("disk full")}
	e := newExporter(t, s)
	assert.ErrorIs(t, e.HealthCheck(context.Background()), s.healthErr)
	s.healthErr = nil
	assert.NoError(t, e.HealthCheck(context.Background()))
	require.NoError(t, e.Shutdown(context.Background()))
	assert.ErrorIs(t, e.HealthCheck(context.Background()), sdklog.ErrExporterShutdown)

	type writeOnly struct{ bridge.Sink }
	e2 := newExporter(t, writeOnly{&recSink{}})
	assert.NoError(t, e2.HealthCheck(context.Background()))
}

// A sink written before flush existed keeps working: no Start, Flush, Stop.
func TestWriteOnlySink(t *testing.T) {
	inner := &recSink{}
	e := newExporter(t, struct{ bridge.Sink }{inner})
	ctx := context.Background()
	require.NoError(t, e.Export(ctx, records("a")))
	require.NoError(t, e.ForceFlush(ctx))
	require.NoError(t, e.Shutdown(ctx))
	assert.Equal(t, []string{"Write"}, inner.callList())
}

func TestOTLPJSONFormat(t *testing.T) {
	s := &recSink{}
	e := newExporter(t, s, bridge.WithFormat(bridge.FormatOTLPJSON))
	require.NoError(t, e.Export(context.Background(), records("hello")))
	var req collogs.ExportLogsServiceRequest
	require.NoError(t, protojson.Unmarshal(s.entries[0], &req))
	assert.Equal(t, "hello", req.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Body.GetStringValue())
	require.NoError(t, e.Shutdown(context.Background()))
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	s := &recSink{writeErr: func(entry []byte) error {
		if bytes.Contains(entry, []byte(`"message":"fail"`)) {
			return errors.New("nope")
		}
		return nil
	}}
	e := newExporter(t, s, bridge.WithMeterProvider(mp), bridge.WithName("m"))
	ctx := context.Background()
	require.Error(t, e.Export(ctx, records("a", "fail", "b")))
	require.NoError(t, e.ForceFlush(ctx))
	s.flushErr = errors.New("flush failed")
	require.Error(t, e.ForceFlush(ctx))

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					name, _ := dp.Attributes.Value("otel.component.name")
					assert.Equal(t, "m", name.AsString())
					typ, _ := dp.Attributes.Value("otel.component.type")
					assert.Equal(t, "fapilog_sink", typ.AsString())
					key := m.Name
					if o, ok := dp.Attributes.Value("outcome"); ok {
						key += "/" + o.AsString()
					}
					if o, ok := dp.Attributes.Value("error.type"); ok {
						key += "/" + o.AsString()
					}
					got[key] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					got[m.Name] += int64(dp.Count)
				}
			}
		}
	}
	assert.Equal(t, map[string]int64{
		"otel.sdk.exporter.log.exported":              2,
		"otel.sdk.exporter.log.exported/write_failed": 1,
		"otel.sdk.exporter.log.inflight":              0,
		"otel.sdk.exporter.operation.duration":        1,
		"fapilog.sink.flushes/ok":                     1,
		"fapilog.sink.flushes/error":                  1,
		"fapilog.sink.flush.duration":                 2,
	}, got)
	s.flushErr = nil
	require.NoError(t, e.Shutdown(ctx))
}

// waitFor polls cond; it synchronises on state the test cannot get a channel
// for (calls entering a third-party sink), with a bound that fails loudly.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

type lossySink struct {
	recSink
	lost int64
}

func (s *lossySink) Lost() int64 { return s.lost }

func TestLostEntriesObserved(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	s := &lossySink{lost: 7}
	e := newExporter(t, s, bridge.WithMeterProvider(mp), bridge.WithName("lossy"))
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	assert.Equal(t, int64(7), sumOf(rm, "fapilog.sink.entries.lost"))

	require.NoError(t, e.Shutdown(context.Background()))
	rm = metricdata.ResourceMetrics{}
	require.NoError(t, reader.Collect(context.Background(), &rm))
	assert.Equal(t, int64(0), sumOf(rm, "fapilog.sink.entries.lost"), "Shutdown stops observing the sink")
}

func sumOf(rm metricdata.ResourceMetrics, name string) int64 {
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if d, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == name {
				for _, dp := range d.DataPoints {
					total += dp.Value
				}
			}
		}
	}
	return total
}

// processor.Batch retries exactly the Export errors that say Retryable.
func TestExportErrorRetryable(t *testing.T) {
	var re interface{ Retryable() bool }
	s := &recSink{startErr: errors.New("no disk yet")}
	e := newExporter(t, s)
	err := e.Export(context.Background(), records("a"))
	require.True(t, errors.As(err, &re))
	assert.True(t, re.Retryable(), "nothing reached the sink: safe to export again")

	s2 := &recSink{writeErr: func(entry []byte) error {
		// The message, not "bad" anywhere: a random message_id holds
		// those three hex digits about once in 150 entries.
		if bytes.Contains(entry, []byte(`"message":"bad"`)) {
			return errors.New("refused")
		}
		return nil
	}}
	e2 := newExporter(t, s2)
	err = e2.Export(context.Background(), records("good", "bad"))
	var ee *bridge.ExportError
	require.True(t, errors.As(err, &ee))
	assert.Equal(t, 1, ee.Failed)
	assert.Equal(t, 2, ee.Total)
	assert.False(t, ee.Retryable(), "entries reached the sink: a retry would write them twice")
	assert.Contains(t, err.Error(), "1 of 2 entries not written")
}

// A Shutdown that finds another still running waits for it only as long as
// its own context allows (sync.Once would have made it wait regardless).
func TestConcurrentShutdownHonoursItsContext(t *testing.T) {
	s := &recSink{block: make(chan struct{})}
	e := newExporter(t, s)
	first := make(chan error, 1)
	go func() { first <- e.Shutdown(context.Background()) }() // blocks in the sink's Flush
	waitFor(t, func() bool { return slices.Contains(s.callList(), "Flush") })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
	close(s.block)
	require.NoError(t, <-first)
	assert.NoError(t, e.Shutdown(context.Background()), "once done, every call gets the first result")
}

// ignoringSink's Flush, and Stop when stopWaits, wait for release and
// ignore their context, against the Flusher and Stopper contracts.
type ignoringSink struct {
	recSink
	release   chan struct{}
	stopWaits bool
}

func (s *ignoringSink) Flush(context.Context) error {
	defer s.enter("Flush")()
	<-s.release
	return nil
}

func (s *ignoringSink) Stop(context.Context) error {
	defer s.enter("Stop")()
	if s.stopWaits {
		<-s.release
	}
	return nil
}

func (s *ignoringSink) count(call string) (n int) {
	for _, c := range s.callList() {
		if c == call {
			n++
		}
	}
	return n
}

// within runs f and fails the test if it has not returned after d: a call
// that must not wait for the sink would otherwise hang the test.
func within(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatal("the call waited for a sink that ignores its context")
		return nil
	}
}

// A sink whose Flush ignores its context does not hold ForceFlush past
// the caller's deadline: the Flush is left running, holding the sink, so
// that Exports and flushes meanwhile wait within their own contexts and
// no second call reaches the sink; once it returns, all is as before.
func TestForceFlushDoesNotWaitForASinkIgnoringItsContext(t *testing.T) {
	s := &ignoringSink{release: make(chan struct{})}
	e := newExporter(t, s)
	require.NoError(t, e.Export(context.Background(), records("a")))
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	err := within(t, 10*time.Second, func() error { return e.ForceFlush(short()) })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "left running")
	assert.ErrorIs(t, within(t, 10*time.Second, func() error { return e.Export(short(), records("b")) }), context.DeadlineExceeded)
	assert.ErrorIs(t, within(t, 10*time.Second, func() error { return e.ForceFlush(short()) }), context.DeadlineExceeded)
	assert.Equal(t, 1, s.count("Flush"), "a second Flush reached the sink while the first ran")

	close(s.release)
	require.NoError(t, e.ForceFlush(context.Background()))
	require.NoError(t, e.Export(context.Background(), records("c")))
	require.NoError(t, e.Shutdown(context.Background()))
	assert.False(t, s.overlap.Load(), "the bridge called into the sink concurrently")
}

// A sink whose Flush and Stop ignore their context does not hold Shutdown
// past its deadline and the stop grace: Shutdown says what it left
// running, a later call returns the same, and the sink is stopped once
// its calls return.
func TestShutdownDoesNotWaitForASinkIgnoringItsContext(t *testing.T) {
	s := &ignoringSink{release: make(chan struct{}), stopWaits: true}
	e := newExporter(t, s)
	require.NoError(t, e.Export(context.Background(), records("a")))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := within(t, 10*time.Second, func() error { return e.Shutdown(ctx) })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "Flush or Stop did not return")
	assert.Equal(t, err, e.Shutdown(context.Background()), "a later Shutdown returns the first one's failure")
	select {
	case <-e.Stopped():
		t.Fatal("stopped before the sink's Stop returned")
	default:
	}
	close(s.release)
	<-e.Stopped()
	assert.Equal(t, []string{"Start", "Write", "Flush", "Stop"}, s.callList())
	assert.False(t, s.overlap.Load())
}
