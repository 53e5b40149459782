package processor

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/internal/testrace"
	"github.com/fapilog/fapilog-otel/internal/testrecords"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func attrs(r *sdklog.Record) map[string]attribute.Value {
	out := map[string]attribute.Value{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool { out[string(kv.Key)] = kv.Value; return true })
	return out
}

func rec(body string, kvs ...attribute.KeyValue) sdklog.Record {
	return logtest.RecordFactory{Timestamp: time.Now(), Severity: log.SeverityInfo, Body: attribute.StringValue(body), Attributes: kvs}.NewRecord()
}

func TestRedactKeysAtAnyDepth(t *testing.T) {
	r := rec("login",
		attribute.String("Password", "hunter2"),
		attribute.String("http.request.header.authorization", "Basic abc"),
		attribute.String("user", "ann"),
		attribute.KeyValue{Key: "req", Value: attribute.MapValue(
			attribute.String("api_key", "k-123"),
			attribute.KeyValue{Key: "list", Value: attribute.SliceValue(attribute.MapValue(attribute.String("Set-Cookie", "sid=1")))},
		)},
	)
	require.NoError(t, NewRedact().OnEmit(context.Background(), &r))
	a := attrs(&r)
	assert.Equal(t, "***", a["Password"].AsString())
	assert.Equal(t, "***", a["http.request.header.authorization"].AsString())
	assert.Equal(t, "ann", a["user"].AsString())
	emitted := a["req"].String()
	for _, secret := range []string{"k-123", "sid=1"} {
		assert.NotContains(t, emitted, secret)
	}
	assert.Contains(t, emitted, "***")
}

func TestRedactPatternsAndURLs(t *testing.T) {
	red := NewRedact(WithPatterns(BearerToken, CardNumber), WithMask("[x]"))
	r := rec("paid with 4111 1111 1111 1111 using Bearer eyJhbGciOi.abc",
		attribute.String("dsn", "postgres://admin:pw@db:5432/app"),
		attribute.StringSlice("urls", []string{"https://u:p@example.com/x", "https://example.com"}),
		attribute.Int("amount", 42),
	)
	require.NoError(t, red.OnEmit(context.Background(), &r))
	assert.Equal(t, "paid with [x] using [x]", r.Body().AsString())
	a := attrs(&r)
	assert.Equal(t, "postgres://[x]@db:5432/app", a["dsn"].AsString())
	assert.Equal(t, []string{"https://[x]@example.com/x", "https://example.com"}, a["urls"].AsStringSlice())
	assert.EqualValues(t, 42, a["amount"].AsInt64())
}

func TestRedactBoundedWork(t *testing.T) {
	deep := attribute.StringValue("leaf")
	for range 100 {
		deep = attribute.MapValue(attribute.KeyValue{Key: "d", Value: deep})
	}
	many := make([]attribute.KeyValue, 0, 50)
	for i := range 50 {
		many = append(many, attribute.String(fmt.Sprintf("k%d", i), "postgres://a:b@h/db"))
	}
	r := rec("x", append(many, attribute.KeyValue{Key: "deep", Value: deep})...)
	red := NewRedact(WithLimits(RedactLimits{MaxDepth: 4, MaxKeys: 20}))
	require.NoError(t, red.OnEmit(context.Background(), &r))
	for k, v := range attrs(&r) {
		assert.NotContains(t, v.String(), "a:b", "attribute %s leaked past the limits", k)
	}
	assert.NotContains(t, attrs(&r)["deep"].String(), "leaf", "values deeper than the limit are masked, not inspected")
}

func TestRedactLeavesCleanRecordsAlone(t *testing.T) {
	r := logtest.RecordFactory{Body: attribute.StringValue(testrecords.Message), Attributes: testrecords.TenAttributes()}.NewRecord()
	before := attrs(&r)
	red := NewRedact(WithPatterns(BearerToken))
	require.NoError(t, red.OnEmit(context.Background(), &r))
	assert.Equal(t, before, attrs(&r))
	if testrace.Enabled {
		return
	}
	allocs := testing.AllocsPerRun(200, func() { _ = red.OnEmit(context.Background(), &r) })
	assert.Zero(t, allocs, "nothing to redact costs no allocation")
}

func TestEnrich(t *testing.T) {
	type ctxKey struct{}
	e := NewEnrich(
		WithAttributes(attribute.String("service.team", "payments"), attribute.String("user", "default")),
		WithContextAttributes(func(ctx context.Context) []attribute.KeyValue {
			if id, ok := ctx.Value(ctxKey{}).(string); ok {
				return []attribute.KeyValue{attribute.String("request_id", id)}
			}
			return nil
		}),
	)
	r := rec("x", attribute.String("user", "ann"))
	ctx := context.WithValue(context.Background(), ctxKey{}, "req-9")
	require.NoError(t, e.OnEmit(ctx, &r))
	a := attrs(&r)
	assert.Equal(t, "payments", a["service.team"].AsString())
	assert.Equal(t, "req-9", a["request_id"].AsString())
	assert.Equal(t, "ann", a["user"].AsString(), "the caller's value wins")

	empty := NewEnrich()
	r2 := rec("y")
	require.NoError(t, empty.OnEmit(ctx, &r2))
	assert.Empty(t, attrs(&r2))
}

// counter is a downstream processor that counts calls.
type counter struct {
	emitted, flushes, shutdowns atomic.Int32
	enabled                     bool
	flushGate                   chan struct{}
}

func (c *counter) OnEmit(context.Context, *sdklog.Record) error           { c.emitted.Add(1); return nil }
func (c *counter) Enabled(context.Context, sdklog.EnabledParameters) bool { return c.enabled }
func (c *counter) Shutdown(context.Context) error                         { c.shutdowns.Add(1); return nil }
func (c *counter) ForceFlush(ctx context.Context) error {
	c.flushes.Add(1)
	if c.flushGate != nil {
		select {
		case <-c.flushGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func sev(s log.Severity) sdklog.Record {
	return logtest.RecordFactory{Severity: s, Body: attribute.StringValue("m")}.NewRecord()
}

func TestMinSeverity(t *testing.T) {
	c := &counter{enabled: true}
	m := NewMinSeverity(log.SeverityWarn, c)
	ctx := context.Background()
	for _, s := range []log.Severity{log.SeverityDebug, log.SeverityInfo, log.SeverityWarn, log.SeverityError} {
		r := sev(s)
		require.NoError(t, m.OnEmit(ctx, &r))
	}
	assert.EqualValues(t, 2, c.emitted.Load())
	assert.False(t, m.Enabled(ctx, sdklog.EnabledParameters{Severity: log.SeverityInfo}))
	assert.True(t, m.Enabled(ctx, sdklog.EnabledParameters{Severity: log.SeverityError}))
	assert.True(t, m.Enabled(ctx, sdklog.EnabledParameters{}), "unknown severity is left to next")

	// Changing the threshold while records flow.
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 1000 {
			m.SetMin(log.Severity(i%24 + 1))
		}
	}()
	go func() {
		defer wg.Done()
		r := sev(log.SeverityInfo)
		for range 1000 {
			_ = m.OnEmit(ctx, &r)
		}
	}()
	wg.Wait()
	m.SetMin(log.SeverityTrace)
	r := sev(log.SeverityTrace)
	before := c.emitted.Load()
	require.NoError(t, m.OnEmit(ctx, &r))
	assert.Equal(t, before+1, c.emitted.Load())

	require.NoError(t, m.ForceFlush(ctx))
	require.NoError(t, m.Shutdown(ctx))
	assert.EqualValues(t, 1, c.flushes.Load())
	assert.EqualValues(t, 1, c.shutdowns.Load())
}

func TestFlushOnSeverityCoalescesBursts(t *testing.T) {
	c := &counter{flushGate: make(chan struct{})}
	p := NewFlushOnSeverity(c)
	ctx := context.Background()
	info := sev(log.SeverityInfo)
	require.NoError(t, p.OnEmit(ctx, &info))
	assert.Zero(t, c.flushes.Load(), "INFO does not flush")

	start := time.Now()
	for range 1000 {
		r := sev(log.SeverityError)
		require.NoError(t, p.OnEmit(ctx, &r))
	}
	assert.Less(t, time.Since(start), time.Second, "the logging call does not wait for the (blocked) flush")
	close(c.flushGate)
	require.NoError(t, p.Shutdown(ctx))
	assert.EqualValues(t, 1001, c.emitted.Load())
	assert.LessOrEqual(t, c.flushes.Load(), int32(2), "1000 errors, at most one running and one queued flush")
	assert.GreaterOrEqual(t, c.flushes.Load(), int32(1))
}

// A trigger that arrived before Shutdown always gets its flush: Shutdown
// must not race it away.
func TestFlushOnSeverityShutdownKeepsPendingFlush(t *testing.T) {
	for range 200 {
		c := &counter{}
		p := NewFlushOnSeverity(c)
		r := sev(log.SeverityError)
		require.NoError(t, p.OnEmit(context.Background(), &r))
		require.NoError(t, p.Shutdown(context.Background()))
		require.EqualValues(t, 1, c.flushes.Load(), "the triggered flush was dropped by Shutdown")
		require.EqualValues(t, 1, c.shutdowns.Load())
	}
}

// Shutdown with an ended context still shuts next down.
func TestFlushOnSeverityShutdownEndedContext(t *testing.T) {
	c := &counter{flushGate: make(chan struct{})}
	p := NewFlushOnSeverity(c)
	r := sev(log.SeverityError)
	require.NoError(t, p.OnEmit(context.Background(), &r))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, p.Shutdown(ctx), context.Canceled)
	assert.EqualValues(t, 1, c.shutdowns.Load(), "next was shut down")
	close(c.flushGate)
	<-p.done
}

// Shutdown twice and concurrently: next is shut down once, and every call
// returns the first one's result, a failure included.
func TestFlushOnSeverityShutdownTwiceAndConcurrently(t *testing.T) {
	c := &counter{flushGate: make(chan struct{})}
	p := NewFlushOnSeverity(c)
	r := sev(log.SeverityError)
	require.NoError(t, p.OnEmit(context.Background(), &r)) // a flush that hangs
	shutdownEndedConcurrently(t, p)
	close(c.flushGate)
	<-p.done
	assert.ErrorIs(t, p.Shutdown(context.Background()), context.Canceled, "a later call does not turn the failure into nil")
	assert.EqualValues(t, 1, c.shutdowns.Load(), "next was shut down once")
}

// shutdownEndedConcurrently calls p's Shutdown from four goroutines at
// once with an ended context; each must say so.
func shutdownEndedConcurrently(t *testing.T, p sdklog.Processor) {
	t.Helper()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = p.Shutdown(ended) })
	}
	wg.Wait()
	for i, err := range errs {
		assert.ErrorIs(t, err, context.Canceled, "call %d", i)
	}
}

// MinSeverity's Shutdown with an ended context, twice and concurrently:
// next is shut down once, and every call returns the first one's result,
// a failure included, where next (the SDK's processor) would answer a
// second call with nil.
func TestMinSeverityShutdownEndedTwiceAndConcurrently(t *testing.T) {
	next := &failsOnce{}
	p := NewMinSeverity(log.SeverityInfo, next)
	shutdownEndedConcurrently(t, p)
	assert.ErrorIs(t, p.Shutdown(context.Background()), context.Canceled, "a later call does not turn the failure into nil")
	assert.EqualValues(t, 1, next.shutdowns.Load(), "next was shut down once")
}

// failsOnce answers its first Shutdown with ctx's error and every later
// one with nil, as the SDK's BatchProcessor does.
type failsOnce struct {
	counter
}

func (f *failsOnce) Shutdown(ctx context.Context) error {
	if f.shutdowns.Add(1) == 1 {
		return ctx.Err()
	}
	return nil
}

func TestFlushOnSeverityWaitIsBounded(t *testing.T) {
	c := &counter{flushGate: make(chan struct{})}
	p := NewFlushOnSeverity(c, WithFlushWait(30*time.Millisecond), WithFlushSeverity(log.SeverityWarn))
	ctx := context.Background()
	r := sev(log.SeverityWarn)
	start := time.Now()
	require.NoError(t, p.OnEmit(ctx, &r))
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, 25*time.Millisecond, "it waited for the flush")
	assert.Less(t, took, time.Second, "but no longer than the bound")
	close(c.flushGate)

	// With a flush that completes, the wait ends as soon as it does.
	c2 := &counter{}
	p2 := NewFlushOnSeverity(c2, WithFlushWait(time.Hour))
	r2 := sev(log.SeverityFatal)
	require.NoError(t, p2.OnEmit(ctx, &r2))
	assert.EqualValues(t, 1, c2.flushes.Load(), "the triggering call returned after its flush")
	require.NoError(t, p.Shutdown(ctx))
	require.NoError(t, p2.Shutdown(ctx))
}

func TestFlushOnSeverityUnusedShutdown(t *testing.T) {
	c := &counter{}
	p := NewFlushOnSeverity(c)
	require.NoError(t, p.Shutdown(context.Background()))
	r := sev(log.SeverityError)
	require.NoError(t, p.OnEmit(context.Background(), &r), "after Shutdown no flush goroutine starts")
	assert.EqualValues(t, 1, c.shutdowns.Load())
}

func TestRedactedBeforeExport(t *testing.T) {
	var got []string
	var mu sync.Mutex
	exp := exporterFunc(func(recs []sdklog.Record) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			got = append(got, attrs(&r)["token"].AsString())
		}
	})
	provider := sdklog.NewLoggerProvider(
		sdklog.WithProcessor(NewRedact()),
		sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)),
	)
	var r log.Record
	r.SetBody(attribute.StringValue("hello"))
	r.AddAttributes(attribute.String("token", "t-secret"))
	provider.Logger("x").Emit(context.Background(), r)
	require.NoError(t, provider.Shutdown(context.Background()))
	assert.Equal(t, []string{"***"}, got)
	assert.False(t, strings.Contains(strings.Join(got, ""), "t-secret"))
}

type exporterFunc func([]sdklog.Record)

func (f exporterFunc) Export(_ context.Context, recs []sdklog.Record) error { f(recs); return nil }
func (exporterFunc) Shutdown(context.Context) error                         { return nil }
func (exporterFunc) ForceFlush(context.Context) error                       { return nil }
