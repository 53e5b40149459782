package processor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// recExporter records every exported record's "seq" attribute (and "g",
// the emitting goroutine, when set), and can be slowed, blocked or failed.
type recExporter struct {
	mu       sync.Mutex
	seqs     []int64
	byG      map[int64][]int64
	exports  int
	inExport atomic.Int32
	overlap  atomic.Bool
	delay    time.Duration
	gate     chan struct{} // Export waits on it when set
	failFor  func(call int) error
	flushes  atomic.Int32
	shutdown atomic.Int32
}

func (e *recExporter) Export(ctx context.Context, recs []sdklog.Record) error {
	if e.inExport.Add(1) > 1 {
		e.overlap.Store(true)
	}
	defer e.inExport.Add(-1)
	e.mu.Lock()
	call := e.exports
	e.exports++
	gate, fail, delay := e.gate, e.failFor, e.delay
	e.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if delay > 0 {
		time.Sleep(delay) // a slow destination
	}
	if fail != nil {
		if err := fail(call); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range recs {
		var seq, g int64 = -1, -1
		recs[i].WalkAttributes(func(kv attribute.KeyValue) bool {
			switch kv.Key {
			case "seq":
				seq = kv.Value.AsInt64()
			case "g":
				g = kv.Value.AsInt64()
			}
			return true
		})
		e.seqs = append(e.seqs, seq)
		if g >= 0 {
			if e.byG == nil {
				e.byG = map[int64][]int64{}
			}
			e.byG[g] = append(e.byG[g], seq)
		}
	}
	return nil
}

func (e *recExporter) ForceFlush(context.Context) error { e.flushes.Add(1); return nil }

func (e *recExporter) calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.exports
}
func (e *recExporter) Shutdown(context.Context) error { e.shutdown.Add(1); return nil }

func (e *recExporter) got() []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int64(nil), e.seqs...)
}

func emit(t testing.TB, p sdklog.Processor, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		r := logtest.RecordFactory{Body: attribute.StringValue("m"),
			Attributes: []attribute.KeyValue{attribute.Int("seq", i)}}.NewRecord()
		if err := p.OnEmit(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
	}
}

func requireSeqs(t *testing.T, got []int64, from, to int) {
	t.Helper()
	require.Len(t, got, to-from)
	for i, s := range got {
		require.EqualValues(t, from+i, s, "record %d lost, repeated or reordered", from+i)
	}
}

// Through a real provider with default settings: a burst of 10x the queue
// against a slow exporter loses nothing under the default block policy.
func TestBatchBurstTenTimesTheQueueLosesNothing(t *testing.T) {
	exp := &recExporter{delay: 2 * time.Millisecond}
	b := NewBatch(exp)
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(b))
	logger := provider.Logger("burst")
	const n = 10 * DefaultMaxQueueSize
	for i := range n {
		var r log.Record
		r.SetBody(attribute.StringValue("burst"))
		r.AddAttributes(attribute.Int("seq", i))
		logger.Emit(context.Background(), r)
	}
	require.NoError(t, provider.ForceFlush(context.Background()))
	requireSeqs(t, exp.got(), 0, n)
	assert.Zero(t, b.Dropped())
	require.NoError(t, provider.Shutdown(context.Background()))
	assert.False(t, exp.overlap.Load(), "Export was called concurrently")
}

func TestBatchDropPoliciesCountEveryDrop(t *testing.T) {
	for _, c := range []struct {
		policy QueueFullPolicy
		kept   func(t *testing.T, got []int64)
	}{
		{QueueFullDropNewest, func(t *testing.T, got []int64) { requireSeqs(t, got, 0, 64) }},
		{QueueFullDropOldest, func(t *testing.T, got []int64) {
			// The batch being exported (0..15) cannot be dropped; the
			// rest of the queue is the newest records.
			require.Len(t, got, 64)
			requireSeqs(t, got[:16], 0, 16)
			requireSeqs(t, got[16:], 100-48, 100)
		}},
		{QueueFullBlock, func(t *testing.T, got []int64) { requireSeqs(t, got, 0, 64) }},
	} {
		t.Run(c.policy.String(), func(t *testing.T) {
			gate := make(chan struct{})
			exp := &recExporter{gate: gate}
			var mu sync.Mutex
			var reports []error
			b := NewBatch(exp, WithMaxQueueSize(64), WithMaxExportBatchSize(16), WithQueueFullPolicy(c.policy),
				WithBlockTimeout(time.Millisecond),
				WithBatchErrorHandler(func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() }))
			emit(t, b, 0, 16)
			require.Eventually(t, func() bool { return exp.inExport.Load() == 1 }, 5*time.Second, time.Millisecond)
			emit(t, b, 16, 100)
			assert.EqualValues(t, 36, b.Dropped(), "100 emitted, room for 64")
			close(gate)
			err := b.ForceFlush(context.Background())
			require.ErrorIs(t, err, ErrDropped)
			assert.Contains(t, err.Error(), "36 entries lost")
			require.NoError(t, b.ForceFlush(context.Background()), "each drop is reported by one flush")
			c.kept(t, exp.got())
			mu.Lock()
			assert.NotEmpty(t, reports, "drops reached the error handler")
			mu.Unlock()
			require.NoError(t, b.Shutdown(context.Background()))
		})
	}
}

// A 1ms-deadline ForceFlush in the middle of a burst returns on time and
// drops nothing: what it did not export is still queued, in order.
func TestBatchShortFlushDeadlineLosesNothing(t *testing.T) {
	gate := make(chan struct{})
	exp := &recExporter{gate: gate}
	b := NewBatch(exp)
	emit(t, b, 0, 1500)
	require.Eventually(t, func() bool { return exp.inExport.Load() == 1 }, 5*time.Second, time.Millisecond)
	emit(t, b, 1500, 2000)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	start := time.Now()
	err := b.ForceFlush(ctx)
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, took, 500*time.Millisecond)
	assert.Contains(t, err.Error(), "2000 records not yet exported, still queued")
	close(gate)
	emit(t, b, 2000, 4000)
	require.NoError(t, b.ForceFlush(context.Background()))
	requireSeqs(t, exp.got(), 0, 4000)
	require.NoError(t, b.Shutdown(context.Background()))
}

// An exporter that fails for a while loses nothing: the batch stays queued
// and is retried until it succeeds.
func TestBatchRetriesUntilTheExporterRecovers(t *testing.T) {
	var healthy atomic.Bool
	exp := &recExporter{failFor: func(int) error {
		if healthy.Load() {
			return nil
		}
		return errors.New("collector restarting")
	}}
	var failures atomic.Int32
	b := NewBatch(exp, WithExportInterval(5*time.Millisecond), WithMaxRetryBackoff(20*time.Millisecond),
		WithBatchErrorHandler(func(error) { failures.Add(1) }))
	emit(t, b, 0, 1000)
	require.Eventually(t, func() bool { return failures.Load() > 0 }, 5*time.Second, time.Millisecond)
	emit(t, b, 1000, 1500)
	healthy.Store(true)
	require.NoError(t, b.ForceFlush(context.Background()))
	requireSeqs(t, exp.got(), 0, 1500)
	assert.Zero(t, b.Dropped())
	require.NoError(t, b.Shutdown(context.Background()))
}

type finalErr struct{}

func (finalErr) Error() string   { return "refused for good" }
func (finalErr) Retryable() bool { return false }

func TestBatchFinalErrorIsNotRetried(t *testing.T) {
	exp := &recExporter{failFor: func(call int) error {
		if call == 0 {
			return finalErr{}
		}
		return nil
	}}
	b := NewBatch(exp, WithMaxExportBatchSize(10), WithBatchErrorHandler(func(error) {}))
	emit(t, b, 0, 10)
	err := b.ForceFlush(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "10 entries lost")
	emit(t, b, 10, 20)
	require.NoError(t, b.ForceFlush(context.Background()))
	requireSeqs(t, exp.got(), 10, 20)
	assert.EqualValues(t, 10, b.Dropped())
	require.NoError(t, b.Shutdown(context.Background()))
}

// An exporter answering every Export with a final error gives up every
// batch; the reports are coalesced, at most one a second and the rest by
// the flush, and together they count every record.
func TestBatchReportsGiveUpsAtMostOnceASecond(t *testing.T) {
	exp := &recExporter{failFor: func(int) error { return finalErr{} }}
	reports := &reportLog{}
	b := NewBatch(exp, WithMaxExportBatchSize(1), WithBatchErrorHandler(reports.handle))
	start := time.Now()
	emit(t, b, 0, 200)
	err := b.ForceFlush(context.Background())
	elapsed := time.Since(start)
	require.ErrorContains(t, err, "200 entries lost")
	assert.Equal(t, 200, exp.calls(), "one Export per record: none retried")
	counted := 0
	all := reports.all()
	for _, r := range all {
		m := regexp.MustCompile(`: (\d+) records not exported: `).FindStringSubmatch(r.Error())
		require.NotNil(t, m, "unexpected report %v", r)
		k, _ := strconv.Atoi(m[1])
		counted += k
	}
	assert.Equal(t, 200, counted)
	assert.LessOrEqual(t, len(all), 2+int(elapsed/time.Second), "reports were not coalesced")
	require.NoError(t, b.Shutdown(context.Background()))
}

// poisonExporter refuses, with a plain error, every batch holding the
// record whose seq is poison: what otlploghttp answers for a batch the
// Collector rejects (400) or one over its request size limit (413).
type poisonExporter struct {
	recExporter
	poison int64
}

func (e *poisonExporter) Export(ctx context.Context, recs []sdklog.Record) error {
	for i := range recs {
		bad := false
		recs[i].WalkAttributes(func(kv attribute.KeyValue) bool {
			bad = kv.Key == "seq" && kv.Value.AsInt64() == e.poison
			return !bad
		})
		if bad {
			e.mu.Lock()
			e.exports++
			e.mu.Unlock()
			return errors.New("failed to send logs: 400 Bad Request")
		}
	}
	return e.recExporter.Export(ctx, recs)
}

// reportLog keeps what a Batch reported to its error handler.
type reportLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *reportLog) handle(err error) { l.mu.Lock(); l.errs = append(l.errs, err); l.mu.Unlock() }

func (l *reportLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

func (l *reportLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errs[len(l.errs)-1].Error()
}

// flushGivesUpThePoison flushes b after records 0..n-1 and checks that
// every one of them but the poison was exported, in order, and the poison
// alone counted lost, without the flush running to its deadline. It
// returns the last report, which says why the poison was given up.
func flushGivesUpThePoison(t *testing.T, b *Batch, exp *poisonExporter, n int64, reports *reportLog) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.ForceFlush(ctx)
	require.Error(t, err)
	require.NotErrorIs(t, err, context.DeadlineExceeded, "the flush waited on the refused record until its own deadline")
	assert.Contains(t, err.Error(), "1 entries lost")
	var want []int64
	for i := range n {
		if i != exp.poison {
			want = append(want, i)
		}
	}
	assert.Equal(t, want, exp.got(), "everything but the refused record, in order")
	assert.EqualValues(t, 1, b.Dropped())
	last := reports.last()
	assert.Contains(t, last, "1 records not exported")
	assert.Contains(t, last, "400 Bad Request")
	return last
}

// A record the exporter refuses for good, with an error that does not say
// so, does not hold back every later record for ever: its batch is tried
// in halves until it is alone, the records around it are exported, and it
// is given up once it has been retried alone for WithMaxRetryElapsedTime,
// counted and reported.
func TestBatchGivesUpAfterTheRetryBudget(t *testing.T) {
	for _, poison := range []int64{3, 9} { // inside the first batch of 10, and its last
		exp := &poisonExporter{poison: poison}
		reports := &reportLog{}
		b := NewBatch(exp, WithMaxExportBatchSize(10), WithMaxRetryBackoff(5*time.Millisecond),
			WithMaxRetryElapsedTime(100*time.Millisecond), WithBatchErrorHandler(reports.handle))
		emit(t, b, 0, 30)
		start := time.Now()
		last := flushGivesUpThePoison(t, b, exp, 30, reports)
		assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "given up before its budget")
		assert.Contains(t, last, "retried for 100ms")
		emit(t, b, 30, 40)
		require.NoError(t, b.ForceFlush(context.Background()))
		assert.Len(t, exp.got(), 39)
		require.NoError(t, b.Shutdown(context.Background()))
	}
}

// A lone record is given up only after three failed attempts, however
// long ago its first failure was: a process paused past the budget (a
// stopped container) must not turn one failure into a loss.
func TestBatchGivesUpOnlyAfterThreeAttempts(t *testing.T) {
	exp := &poisonExporter{poison: 0}
	b := NewBatch(exp, WithMaxExportBatchSize(1), WithMaxRetryBackoff(time.Millisecond),
		WithMaxRetryElapsedTime(time.Nanosecond), WithBatchErrorHandler(func(error) {}))
	emit(t, b, 0, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.ForceFlush(ctx)
	require.Error(t, err)
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 3, exp.calls(), "attempts before the record was given up")
	assert.EqualValues(t, 1, b.Dropped())
	require.NoError(t, b.Shutdown(context.Background()))
}

// sizeLimitExporter refuses, with a plain error, every batch of more than
// max records: a receiver behind a proxy with a request size limit.
type sizeLimitExporter struct {
	recExporter
	max     int
	refused atomic.Int32
}

func (e *sizeLimitExporter) Export(ctx context.Context, recs []sdklog.Record) error {
	if len(recs) > e.max {
		e.refused.Add(1)
		return errors.New("failed to send logs: 413 Request Entity Too Large")
	}
	return e.recExporter.Export(ctx, recs)
}

// A receiver that refuses batches over a size loses nothing: a batch that
// keeps failing is sent in halves, and the halves go through. (The SDK's
// processor drops every such batch.)
func TestBatchSplitsABatchTheReceiverRefusesForItsSize(t *testing.T) {
	exp := &sizeLimitExporter{max: 100}
	b := NewBatch(exp, WithMaxRetryBackoff(time.Millisecond), WithBatchErrorHandler(func(error) {}))
	emit(t, b, 0, 2000)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, b.ForceFlush(ctx))
	requireSeqs(t, exp.got(), 0, 2000)
	assert.Zero(t, b.Dropped())
	assert.Positive(t, exp.refused.Load())
	require.NoError(t, b.Shutdown(context.Background()))
}

// A flush against a failing exporter tries it once more, promptly, but a
// loop of flushes does not turn the retries into a busy loop.
func TestBatchFlushesDoNotSpinRetries(t *testing.T) {
	exp := &recExporter{failFor: func(int) error { return errors.New("down") }}
	b := NewBatch(exp, WithMaxRetryBackoff(time.Hour), WithBatchErrorHandler(func(error) {}))
	emit(t, b, 0, 1)
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		assert.ErrorIs(t, b.ForceFlush(ctx), context.DeadlineExceeded)
		cancel()
	}
	exp.mu.Lock()
	calls := exp.exports
	exp.mu.Unlock()
	assert.LessOrEqual(t, calls, 22, "about one attempt per flush")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.Shutdown(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "1 entries lost")
}

// Shutdown with an ended context (what LoggerProvider passes when its own
// deadline has passed) still stops the goroutine and the exporter, and
// says how many records were not exported.
func TestBatchShutdownEndedContext(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	exp := &recExporter{gate: gate}
	b := NewBatch(exp, WithMaxExportBatchSize(10))
	emit(t, b, 0, 25)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.Shutdown(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "25 entries lost")
	assert.EqualValues(t, 1, exp.shutdown.Load(), "the exporter is shut down all the same")
	assert.EqualValues(t, 25, b.Dropped())
	assert.Equal(t, err, b.Shutdown(context.Background()), "a later Shutdown returns the first one's result")
	emit(t, b, 25, 26)
	assert.EqualValues(t, 26, b.Dropped(), "records after Shutdown are counted")
	assert.NoError(t, b.ForceFlush(context.Background()))
	// goleak in TestMain checks that the goroutine ended.
}

func TestBatchShutdownTwiceAndConcurrently(t *testing.T) {
	exp := &recExporter{}
	b := NewBatch(exp)
	emit(t, b, 0, 100)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, b.Shutdown(context.Background()))
		}()
	}
	wg.Wait()
	requireSeqs(t, exp.got(), 0, 100)
	assert.EqualValues(t, 1, exp.shutdown.Load())
	unused := NewBatch(&recExporter{})
	require.NoError(t, unused.Shutdown(context.Background()))
	require.NoError(t, unused.Shutdown(context.Background()))
}

func TestBatchKeepsOrderPerGoroutine(t *testing.T) {
	exp := &recExporter{}
	b := NewBatch(exp, WithMaxQueueSize(128), WithMaxExportBatchSize(32))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				r := logtest.RecordFactory{Attributes: []attribute.KeyValue{attribute.Int("seq", i), attribute.Int("g", g)}}.NewRecord()
				_ = b.OnEmit(context.Background(), &r)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, b.Shutdown(context.Background()))
	exp.mu.Lock()
	defer exp.mu.Unlock()
	for g := range int64(4) {
		got := exp.byG[g]
		require.Len(t, got, 2000, "goroutine %d", g)
		for i, s := range got {
			require.EqualValues(t, i, s, "goroutine %d out of order", g)
		}
	}
	assert.False(t, exp.overlap.Load())
}

func TestBatchEnvironmentPrecedence(t *testing.T) {
	t.Setenv(EnvMaxQueueSize, "100")
	t.Setenv(EnvScheduleDelay, "250")
	t.Setenv(EnvExportTimeout, "7000")
	t.Setenv(EnvMaxExportBatchSize, "500") // above the queue: clamped
	t.Setenv(EnvOnQueueFull, "drop_oldest")
	c := newBatchConfig(nil)
	assert.Equal(t, 100, c.maxQueue)
	assert.Equal(t, 250*time.Millisecond, c.interval)
	assert.Equal(t, 7*time.Second, c.timeout)
	assert.Equal(t, 100, c.batchSize)
	assert.Equal(t, QueueFullDropOldest, c.policy)

	c = newBatchConfig([]BatchOption{WithMaxQueueSize(10), WithExportInterval(time.Minute),
		WithExportTimeout(time.Second), WithMaxExportBatchSize(5), WithQueueFullPolicy(QueueFullDropNewest)})
	assert.Equal(t, 10, c.maxQueue, "an option wins over the environment")
	assert.Equal(t, time.Minute, c.interval)
	assert.Equal(t, time.Second, c.timeout)
	assert.Equal(t, 5, c.batchSize)
	assert.Equal(t, QueueFullDropNewest, c.policy)

	t.Setenv(EnvMaxQueueSize, "lots")
	t.Setenv(EnvOnQueueFull, "sometimes")
	c = newBatchConfig([]BatchOption{WithMaxQueueSize(-1)})
	assert.Equal(t, DefaultMaxQueueSize, c.maxQueue, "a bad variable falls back to the default")
	assert.Equal(t, QueueFullBlock, c.policy)

	// More milliseconds than a Duration holds: the longest Duration, not
	// a wrapped negative one (an export timeout that has always expired).
	t.Setenv(EnvExportTimeout, "99999999999999")
	t.Setenv(EnvScheduleDelay, "9223372036854775807")
	c = newBatchConfig(nil)
	assert.Equal(t, 9223372036854*time.Millisecond, c.timeout)
	assert.Equal(t, 9223372036854*time.Millisecond, c.interval)
}

func TestBatchDefaults(t *testing.T) {
	c := newBatchConfig(nil)
	assert.Equal(t, DefaultMaxQueueSize, c.maxQueue)
	assert.Equal(t, DefaultExportInterval, c.interval)
	assert.Equal(t, DefaultExportTimeout, c.timeout)
	assert.Equal(t, DefaultMaxExportBatchSize, c.batchSize)
	assert.Equal(t, QueueFullBlock, c.policy)
	assert.Equal(t, DefaultBlockTimeout, c.blockTimeout)
	assert.Equal(t, DefaultMaxRetryElapsedTime, c.maxRetryTime)
	assert.True(t, strings.HasPrefix(NewBatch(&recExporter{}).cfg.name, "batching_log_processor/"))
	assert.Equal(t, "QueueFullPolicy(9)", fmt.Sprint(QueueFullPolicy(9)))
}

// The export interval sends a partial batch without any flush.
func TestBatchExportsPartialBatchAfterInterval(t *testing.T) {
	exp := &recExporter{}
	b := NewBatch(exp, WithExportInterval(10*time.Millisecond))
	emit(t, b, 0, 3)
	require.Eventually(t, func() bool { return len(exp.got()) == 3 }, 5*time.Second, time.Millisecond)
	require.NoError(t, b.Shutdown(context.Background()))
}

// The export interval runs only while records wait: a record is exported
// an interval after it arrives, and an idle Batch does not wake up, however
// short its interval (docs/spool.md suggests 10 ms in front of files).
func TestBatchIntervalRunsOnlyWhileRecordsWait(t *testing.T) {
	exp := &recExporter{}
	b := NewBatch(exp, WithExportInterval(time.Millisecond))
	defer func() { require.NoError(t, b.Shutdown(context.Background())) }()
	fires := func() int { b.mu.Lock(); defer b.mu.Unlock(); return b.fires }
	for round := range 3 {
		emit(t, b, round, round+1)
		require.Eventually(t, func() bool { return len(exp.got()) == round+1 }, 5*time.Second, time.Millisecond)
		idle := fires()
		assert.Equal(t, round+1, idle, "one interval per record waiting alone")
		time.Sleep(50 * time.Millisecond) // idle: fifty intervals' time passes
		assert.Equal(t, idle, fires(), "the interval ran while nothing waited")
	}
}

// A blocked emitter waits at most the block timeout.
func TestBatchBlockTimeoutBoundsTheWait(t *testing.T) {
	gate := make(chan struct{})
	exp := &recExporter{gate: gate}
	b := NewBatch(exp, WithMaxQueueSize(4), WithMaxExportBatchSize(4), WithBlockTimeout(30*time.Millisecond),
		WithBatchErrorHandler(func(error) {}))
	emit(t, b, 0, 4)
	start := time.Now()
	emit(t, b, 4, 5)
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, 25*time.Millisecond, "it waited for room")
	assert.Less(t, took, 2*time.Second)
	assert.EqualValues(t, 1, b.Dropped())
	close(gate)
	require.ErrorIs(t, b.ForceFlush(context.Background()), ErrDropped)
	require.NoError(t, b.Shutdown(context.Background()))
}

// The self-metrics, under the SDK's names, through WithBatchMeterProvider,
// named by WithBatchName.
func TestBatchMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	gate := make(chan struct{})
	exp := &recExporter{gate: gate}
	b := NewBatch(exp, WithBatchMeterProvider(mp), WithBatchName("orders"), WithMaxQueueSize(8), WithMaxExportBatchSize(4),
		WithQueueFullPolicy(QueueFullDropNewest), WithBatchErrorHandler(func(error) {}))
	emit(t, b, 0, 4)
	require.Eventually(t, func() bool { return exp.inExport.Load() == 1 }, 5*time.Second, time.Millisecond)
	emit(t, b, 4, 14) // room for 4 more: 6 dropped

	collect := func() map[string]int64 {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		got := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if d, ok := m.Data.(metricdata.Sum[int64]); ok {
					for _, dp := range d.DataPoints {
						name, _ := dp.Attributes.Value("otel.component.name")
						require.Equal(t, "orders", name.AsString())
						key := m.Name
						if e, ok := dp.Attributes.Value("error.type"); ok {
							key += "/" + e.AsString()
						}
						got[key] = dp.Value
					}
				}
			}
		}
		return got
	}
	got := collect()
	assert.EqualValues(t, 8, got["otel.sdk.processor.log.queue.size"])
	assert.EqualValues(t, 8, got["otel.sdk.processor.log.queue.capacity"])
	assert.EqualValues(t, 6, got["otel.sdk.processor.log.processed/queue_full"])
	close(gate)
	require.ErrorIs(t, b.ForceFlush(context.Background()), ErrDropped)
	got = collect()
	assert.EqualValues(t, 8, got["otel.sdk.processor.log.processed"], "exported")
	assert.EqualValues(t, 0, got["otel.sdk.processor.log.queue.size"])
	require.NoError(t, b.Shutdown(context.Background()))
}

// Shutdown that gives up while the worker waits out a long retry backoff
// does not wait for the backoff.
func TestBatchShutdownDuringBackoff(t *testing.T) {
	failed := make(chan struct{}, 1)
	exp := &recExporter{failFor: func(int) error {
		select {
		case failed <- struct{}{}:
		default:
		}
		return errors.New("down")
	}}
	b := NewBatch(exp, WithMaxRetryBackoff(time.Hour), WithExportInterval(time.Hour), WithBatchErrorHandler(func(error) {}))
	emit(t, b, 0, 1)
	flushed := make(chan error, 1)
	go func() { flushed <- b.ForceFlush(context.Background()) }() // the first attempt
	<-failed
	// Let the worker settle into its backoff wait.
	require.Eventually(t, func() bool { return exp.inExport.Load() == 0 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := b.Shutdown(ctx)
	assert.Less(t, time.Since(start), 2*time.Second, "Shutdown waited for the backoff")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "1 entries lost")
	// A flush that was waiting for the abandoned record is told, not left
	// waiting forever.
	select {
	case err := <-flushed:
		assert.ErrorContains(t, err, "shut down before 1 records were exported")
	case <-time.After(5 * time.Second):
		t.Fatal("a flush waiting for abandoned records never returned")
	}
}

// ForceFlush with an ended context starts nothing and keeps the records;
// concurrent flushes while records are emitted all succeed and export
// everything once.
func TestBatchForceFlushEndedContextAndConcurrent(t *testing.T) {
	exp := &recExporter{}
	b := NewBatch(exp, WithExportInterval(time.Hour))
	emit(t, b, 0, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, b.ForceFlush(ctx), context.Canceled)
	assert.Empty(t, exp.got(), "an ended context exports nothing")
	assert.Equal(t, 10, b.QueueLen(), "and drops nothing")

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				assert.NoError(t, b.ForceFlush(context.Background()))
			}
		}()
	}
	emit(t, b, 10, 2000)
	wg.Wait()
	require.NoError(t, b.ForceFlush(context.Background()))
	requireSeqs(t, exp.got(), 0, 2000)
	require.NoError(t, b.Shutdown(context.Background()))
}

// WithExportTimeout bounds each Export: an exporter that hangs is given up
// on at the timeout, and the batch is retried.
func TestBatchExportTimeout(t *testing.T) {
	var deadlines []time.Duration
	var mu sync.Mutex
	exp := &ctxExporter{export: func(ctx context.Context) error {
		d, _ := ctx.Deadline()
		mu.Lock()
		deadlines = append(deadlines, time.Until(d))
		first := len(deadlines) == 1
		mu.Unlock()
		if first {
			<-ctx.Done() // hang until the timeout
			return ctx.Err()
		}
		return nil
	}}
	b := NewBatch(exp, WithExportTimeout(30*time.Millisecond), WithMaxRetryBackoff(time.Millisecond), WithBatchErrorHandler(func(error) {}))
	emit(t, b, 0, 1)
	start := time.Now()
	require.NoError(t, b.ForceFlush(context.Background()))
	assert.Less(t, time.Since(start), 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(deadlines), 2, "timed out once, then retried")
	assert.LessOrEqual(t, deadlines[0], 30*time.Millisecond)
	assert.Positive(t, deadlines[0])
	require.NoError(t, b.Shutdown(context.Background()))
}

type ctxExporter struct{ export func(context.Context) error }

func (e *ctxExporter) Export(ctx context.Context, _ []sdklog.Record) error { return e.export(ctx) }
func (*ctxExporter) ForceFlush(context.Context) error                      { return nil }
func (*ctxExporter) Shutdown(context.Context) error                        { return nil }

// An exporter that panics does not end the program from Batch's goroutine:
// that batch is counted lost (not retried), the flush says so, and the
// next batch is exported as usual.
func TestBatchContainsPanickingExporter(t *testing.T) {
	exp := &recExporter{failFor: func(call int) error {
		if call == 0 {
			panic("exporter bug")
		}
		return nil
	}}
	var reported []error
	var mu sync.Mutex
	b := NewBatch(exp, WithBatchErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	emit(t, b, 0, 3)
	err := b.ForceFlush(context.Background())
	require.Error(t, err)
	assert.ErrorContains(t, err, "Export panicked: exporter bug")
	emit(t, b, 3, 5)
	require.NoError(t, b.ForceFlush(context.Background()))
	exp.mu.Lock()
	assert.Equal(t, []int64{3, 4}, exp.seqs, "the next batch exported")
	assert.Equal(t, 2, exp.exports, "the panicked batch not retried")
	exp.mu.Unlock()
	require.NoError(t, b.Shutdown(context.Background()))
	mu.Lock()
	assert.NotEmpty(t, reported)
	mu.Unlock()
}

// panickyExporter's ForceFlush and Shutdown panic.
type panickyExporter struct{ recExporter }

func (*panickyExporter) ForceFlush(context.Context) error { panic("flush bug") }
func (*panickyExporter) Shutdown(context.Context) error   { panic("shutdown bug") }

// A panic in the exporter's ForceFlush or Shutdown is their error, whether
// the context can end (the call runs on a goroutine of ours) or not.
func TestBatchContainsPanickingFlushAndShutdown(t *testing.T) {
	for _, c := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"no deadline", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Minute)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := NewBatch(&panickyExporter{})
			ctx, cancel := c.ctx()
			defer cancel()
			assert.ErrorContains(t, b.ForceFlush(ctx), "panicked: flush bug")
			assert.ErrorContains(t, b.Shutdown(ctx), "panicked: shutdown bug")
		})
	}
}

// An exporter that makes no progress (a Collector down for minutes) keeps
// the queue full. The first emitter finding it full waits its bounded
// time; once a wait has run out with nothing leaving the queue, the ones
// after it drop at once instead of each stalling its goroutine for the
// whole timeout, until a record leaves the queue. Then waiting resumes.
func TestBatchBlockFailsFastWhileExporterStalls(t *testing.T) {
	b, exp, down := blockedBatch()
	emit(t, b, 0, 4)
	emit(t, b, 4, 5) // waits 20 ms, then drops: nothing left the queue
	emit(t, b, 5, 6) // the same: 40 ms, two timeouts, without progress
	require.EqualValues(t, 2, b.Dropped())

	// Were each emitter to wait its timeout, these would take an hour.
	b.mu.Lock()
	b.cfg.blockTimeout = time.Hour
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { defer close(done); emit(t, b, 6, 15) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("emitters waited although the exporter made no progress")
	}
	assert.EqualValues(t, 11, b.Dropped(), "dropped at once, and counted")

	down.Store(false) // the Collector is back: the queue drains
	require.ErrorIs(t, b.ForceFlush(context.Background()), ErrDropped)
	requireSeqs(t, exp.got(), 0, 4)

	// Progress was made, so a full queue makes emitters wait again (here
	// until the exporter is back), instead of dropping.
	down.Store(true)
	before := exp.calls()
	emit(t, b, 15, 19)
	waited := make(chan struct{})
	go func() { defer close(waited); emit(t, b, 19, 20) }()
	require.Eventually(t, func() bool { return exp.calls() > before+1 }, 5*time.Second, time.Millisecond, "the export is being retried")
	down.Store(false)
	<-waited
	require.NoError(t, b.ForceFlush(context.Background()))
	assert.EqualValues(t, 11, b.Dropped(), "the last emitter waited for room instead of dropping")
	require.NoError(t, b.Shutdown(context.Background()))
}

// One wait that runs out is not yet a stall: an exporter that is only
// slow (an export taking longer than the timeout) still has emitters wait,
// and the records a short wait saves are not dropped.
func TestBatchBlockOneTimeoutIsNotAStall(t *testing.T) {
	b, exp, down := blockedBatch()
	emit(t, b, 0, 4)
	emit(t, b, 4, 5) // one timeout, no progress
	require.EqualValues(t, 1, b.Dropped())

	b.mu.Lock()
	b.cfg.blockTimeout = time.Hour // the next emitter waits until room appears
	b.mu.Unlock()
	waited := make(chan struct{})
	go func() { defer close(waited); emit(t, b, 5, 6) }()
	before := exp.calls()
	require.Eventually(t, func() bool { return exp.calls() > before }, 5*time.Second, time.Millisecond)
	down.Store(false)
	<-waited
	require.ErrorIs(t, b.ForceFlush(context.Background()), ErrDropped, "the first drop")
	assert.EqualValues(t, 1, b.Dropped(), "the second emitter waited and got in")
	assert.Equal(t, []int64{0, 1, 2, 3, 5}, exp.got())
	require.NoError(t, b.Shutdown(context.Background()))
}

// blockedBatch is a Batch under QueueFullBlock with a 20 ms timeout and a
// queue of one export batch of 4, in front of an exporter that fails while
// down is set (it starts set), retried every few milliseconds.
func blockedBatch() (*Batch, *recExporter, *atomic.Bool) {
	down := new(atomic.Bool)
	down.Store(true)
	exp := &recExporter{failFor: func(int) error {
		if down.Load() {
			return errors.New("exporter down")
		}
		return nil
	}}
	b := NewBatch(exp, WithMaxQueueSize(4), WithMaxExportBatchSize(4), WithBlockTimeout(20*time.Millisecond),
		WithMaxRetryBackoff(5*time.Millisecond), WithBatchErrorHandler(func(error) {}))
	return b, exp, down
}

// stuckExporter's Export and Shutdown block until released, whatever
// their context says: a write on a pipe nobody reads (the SDK's stdoutlog
// on a blocked standard output).
type stuckExporter struct {
	release  chan struct{}
	entered  chan struct{} // closed when Export has started
	once     sync.Once
	exported atomic.Int32
	flushes  atomic.Int32
}

func (e *stuckExporter) Export(_ context.Context, recs []sdklog.Record) error {
	e.once.Do(func() { close(e.entered) })
	<-e.release
	e.exported.Add(int32(len(recs)))
	return nil
}
func (e *stuckExporter) Shutdown(context.Context) error { <-e.release; return nil }
func (e *stuckExporter) ForceFlush(context.Context) error {
	e.flushes.Add(1)
	<-e.release
	return nil
}

// An exporter that ignores its context cannot hold Shutdown: it returns
// soon after ctx ends, says what it left running, counts the records it
// could not account for, and the goroutine left behind ends, touching
// nothing, once the exporter returns.
func TestBatchShutdownDoesNotWaitForAnExporterIgnoringItsContext(t *testing.T) {
	exp := &stuckExporter{release: make(chan struct{}), entered: make(chan struct{})}
	b := NewBatch(exp, WithMaxExportBatchSize(4))
	emit(t, b, 0, 6)
	<-exp.entered // 4 records in an Export that will not return

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := b.Shutdown(ctx)
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "Export did not return")
	assert.Contains(t, err.Error(), "exporter shutdown: did not return")
	assert.Contains(t, err.Error(), "6 entries lost")
	assert.Less(t, took, 5*time.Second, "Shutdown waited for the exporter")
	assert.EqualValues(t, 6, b.Dropped())

	close(exp.release) // the stuck calls return; the worker ends (goleak)
	select {
	case <-b.workerDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not end once Export returned")
	}
	assert.Equal(t, err, b.Shutdown(context.Background()), "a later Shutdown returns the first one's result")
}

// An exporter whose ForceFlush ignores its context does not hold
// ForceFlush past it either.
func TestBatchForceFlushDoesNotWaitForAnExporterIgnoringItsContext(t *testing.T) {
	exp := &stuckExporter{release: make(chan struct{}), entered: make(chan struct{})}
	b := NewBatch(exp)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := b.ForceFlush(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "exporter flush: did not return")

	// Later flushes wait for the call left running instead of leaving one
	// more each: a stuck exporter costs one goroutine, whatever the number
	// of flushes (FlushOnSeverity may flush at every error).
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		err := b.ForceFlush(ctx)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "left running past its deadline, has not returned")
	}
	assert.EqualValues(t, 1, exp.flushes.Load(), "each flush left one more call (and goroutine) running")

	close(exp.release) // the left-behind call ends (goleak)
	require.NoError(t, b.ForceFlush(context.Background()), "flushes work again once it returned")
	require.NoError(t, b.Shutdown(context.Background()))
}

// chaosExporter fails at random: a retryable error, a final one (its
// batch is lost), a refusal of any batch over a size, and a plain error
// for good for every batch holding a poison record. It records what it
// exported and what it refused for good. A lone record fails at random
// only with a final error: one failing at random for the whole retry
// budget would be given up, rightly, and the test could not tell that
// from a fault.
type chaosExporter struct {
	mu       sync.Mutex
	rng      *rand.Rand
	maxSize  int
	exported []int64
	final    map[int64]bool // in a batch answered with a final error
}

func seqOf(r *sdklog.Record) (seq int64) {
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		if kv.Key == "seq" {
			seq = kv.Value.AsInt64()
			return false
		}
		return true
	})
	return seq
}

func poisoned(seq int64) bool { return seq%97 == 5 }

// badUTF8 tells the records whose body is not UTF-8 (see emitChaos).
func badUTF8(seq int64) bool { return seq%89 == 7 }

// oversized tells the records whose body is over 1 MiB (see emitChaos).
func oversized(seq int64) bool { return seq%401 == 13 }

// emitChaos is emit, with badUTF8 records' bodies not UTF-8 and oversized
// records' bodies of 2 MiB.
func emitChaos(t *testing.T, p sdklog.Processor, from, to int) {
	t.Helper()
	big := strings.Repeat("b", 2<<20)
	for i := from; i < to; i++ {
		body := "m"
		switch {
		case badUTF8(int64(i)):
			body = "m\xff"
		case oversized(int64(i)):
			body = big
		}
		r := logtest.RecordFactory{Body: attribute.StringValue(body),
			Attributes: []attribute.KeyValue{attribute.Int("seq", i)}}.NewRecord()
		require.NoError(t, p.OnEmit(context.Background(), &r))
	}
}

func (e *chaosExporter) Export(_ context.Context, recs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range recs {
		if poisoned(seqOf(&recs[i])) {
			return errors.New("400 Bad Request")
		}
		if !utf8.ValidString(recs[i].Body().AsString()) {
			return errors.New("string field contains invalid UTF-8")
		}
		if len(recs[i].Body().AsString()) > 1<<20 {
			return errors.New("413 Request Entity Too Large")
		}
	}
	if len(recs) > e.maxSize {
		return errors.New("413 Request Entity Too Large")
	}
	switch p := e.rng.Float64(); {
	case p < 0.25 && len(recs) > 1:
		return errors.New("503 Service Unavailable")
	case p < 0.28:
		for i := range recs {
			e.final[seqOf(&recs[i])] = true
		}
		return finalErr{}
	}
	for i := range recs {
		e.exported = append(e.exported, seqOf(&recs[i]))
	}
	return nil
}

func (*chaosExporter) ForceFlush(context.Context) error { return nil }
func (*chaosExporter) Shutdown(context.Context) error   { return nil }

// Whatever the exporter does, every record is exported once, in order, or
// counted lost, and only for a reason: its batch refused for good, or
// itself a record the exporter never takes (given up after the retry
// budget, alone: the records around it are exported). A record whose
// string is not UTF-8 is repaired, and one over 1 MiB is cut, and exported
// like any other. The budget is short
// and the machine may be busy: nothing else may be given up for that.
func TestBatchRandomFailuresKeepOrderAndAccounting(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			exp := &chaosExporter{rng: rng, maxSize: 3 + rng.IntN(30), final: map[int64]bool{}}
			b := NewBatch(exp, WithMaxExportBatchSize(32), WithMaxQueueSize(1<<16), WithExportInterval(time.Millisecond),
				WithMaxRetryBackoff(time.Millisecond), WithMaxRetryElapsedTime(20*time.Millisecond),
				WithBatchErrorHandler(func(error) {}))
			const n = 1000
			for i := 0; i < n; i += 100 {
				emitChaos(t, b, i, i+100)
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				_ = b.ForceFlush(ctx) // often runs out: nothing may be lost for that
				cancel()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for b.ForceFlush(ctx) != nil {
				require.NoError(t, ctx.Err(), "never settled")
			}
			require.NoError(t, b.Shutdown(ctx))

			exp.mu.Lock()
			defer exp.mu.Unlock()
			got := map[int64]bool{}
			for i, s := range exp.exported {
				if i > 0 {
					require.Greater(t, s, exp.exported[i-1], "out of order or twice")
				}
				got[s] = true
			}
			lost := 0
			for s := range int64(n) {
				switch {
				case got[s]:
					require.False(t, poisoned(s), "a poison record was exported")
				case badUTF8(s) && !exp.final[s]:
					t.Fatalf("record %d, not UTF-8, was neither repaired nor lost to a final error", s)
				case oversized(s) && !exp.final[s]:
					t.Fatalf("record %d, over 1 MiB, was neither cut nor lost to a final error", s)
				case poisoned(s) || exp.final[s]:
					lost++
				default:
					t.Fatalf("record %d neither exported nor lost for a reason", s)
				}
			}
			require.EqualValues(t, lost, b.Dropped())
			require.Equal(t, n, len(exp.exported)+lost)
		})
	}
}
