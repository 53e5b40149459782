package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/processor"
)

// restartingReceiver is an OTLP/HTTP endpoint on a fixed loopback address
// that can go away and come back, as a Collector does when it restarts.
type restartingReceiver struct {
	t    *testing.T
	addr string
	recv *sink
	mu   sync.Mutex
	srv  *http.Server
}

func newRestartingReceiver(t *testing.T) *restartingReceiver {
	r := &restartingReceiver{t: t, addr: freeAddr(t), recv: &sink{}}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *restartingReceiver) start() {
	l, err := net.Listen("tcp", r.addr)
	require.NoError(r.t, err)
	srv := &http.Server{Handler: r.recv, ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

func (r *restartingReceiver) stop() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// delivered returns how many distinct records arrived and how many twice.
func (r *restartingReceiver) delivered() (distinct, dup int) {
	r.recv.mu.Lock()
	defer r.recv.mu.Unlock()
	seen := map[string]bool{}
	for _, lr := range r.recv.records {
		b := lr.Body.GetStringValue()
		if seen[b] {
			dup++
		}
		seen[b] = true
	}
	return len(seen), dup
}

// outage logs n records at a steady pace while the receiver is down for
// the middle part of the run, then flushes, and returns what arrived.
func outage(t *testing.T, newProcessor func(sdklog.Exporter) sdklog.Processor) (sent, distinct, dup int, flushErr error) {
	return outageFor(t, newProcessor, 1500, 300, 1200, time.Millisecond)
}

// outageFor logs n records, one every pace, with the receiver down from
// record down to record up.
func outageFor(t *testing.T, newProcessor func(sdklog.Exporter) sdklog.Processor, n, down, up int, pace time.Duration) (sent, distinct, dup int, flushErr error) {
	r := newRestartingReceiver(t)
	// The exporter's own retries are off, so the processor's behaviour on
	// a failed Export is what the test sees.
	otlp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpoint(r.addr), otlploghttp.WithInsecure(),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}))
	require.NoError(t, err)
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(newProcessor(otlp)))
	defer func() { _ = provider.Shutdown(context.Background()) }()
	logger := provider.Logger("outage")
	for i := range n {
		switch i {
		case down:
			r.stop()
		case up:
			r.start()
		}
		var rec log.Record
		rec.SetBody(attribute.StringValue(fmt.Sprintf("record %d", i)))
		logger.Emit(context.Background(), rec)
		time.Sleep(pace) // a steady trickle, as a quiet service logs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	flushErr = provider.ForceFlush(ctx)
	distinct, dup = r.delivered()
	return n, distinct, dup, flushErr
}

// TestOTLPThroughReceiverRestart: otlploghttp behind processor.NewBatch,
// at default settings, loses nothing while its receiver restarts; behind
// the SDK's BatchProcessor the batches whose Export failed are gone.
func TestOTLPThroughReceiverRestart(t *testing.T) {
	sent, distinct, dup, err := outage(t, func(e sdklog.Exporter) sdklog.Processor {
		return processor.NewBatch(e, processor.WithBatchErrorHandler(func(error) {}))
	})
	require.NoError(t, err)
	require.Equal(t, sent, distinct, "processor.NewBatch lost %d records across the restart", sent-distinct)
	t.Logf("processor.NewBatch: %d sent, %d delivered, %d delivered twice", sent, distinct, dup)

	sent, distinct, dup, err = outage(t, func(e sdklog.Exporter) sdklog.Processor { return sdklog.NewBatchProcessor(e) })
	t.Logf("sdklog.NewBatchProcessor: %d sent, %d delivered (%d lost), %d twice; ForceFlush: %v", sent, distinct, sent-distinct, dup, err)
}

// TestOTLPThroughThirtySecondOutage: a Collector restart of 30 s, at
// default settings, loses nothing behind processor.NewBatch.
func TestOTLPThroughThirtySecondOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s outage")
	}
	sent, distinct, dup, err := outageFor(t, func(e sdklog.Exporter) sdklog.Processor {
		return processor.NewBatch(e, processor.WithBatchErrorHandler(func(error) {}))
	}, 340, 20, 320, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, sent, distinct, "lost %d records across a 30 s outage", sent-distinct)
	t.Logf("30 s outage, processor.NewBatch: %d sent, %d delivered, %d twice", sent, distinct, dup)
}

// TestOTLPThroughRequestSizeLimit: a receiver behind a proxy that refuses
// request bodies over 64 KiB with 413 (an nginx ingress refuses over 1 MiB
// by default), otlploghttp at its defaults, 2,000 records of about 300
// bytes (each batch of 512 well over the limit). Behind processor.NewBatch
// at default settings every record arrives, the batches sent in parts;
// behind the SDK's BatchProcessor every refused batch is gone (logged, not
// asserted). The same with the limit in otlploghttp itself
// (WithMaxRequestSize; 64 MiB by default), which refuses before sending.
func TestOTLPThroughRequestSizeLimit(t *testing.T) {
	const limit = 64 << 10
	run := func(newProcessor func(sdklog.Exporter) sdklog.Processor, opts ...otlploghttp.Option) (sent, distinct, dup int, refused int64, flushErr error) {
		recv := &sink{}
		var tooLarge atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				tooLarge.Add(1)
				http.Error(w, "request entity too large", http.StatusRequestEntityTooLarge)
				return
			}
			recv.ServeHTTP(w, r)
		}))
		defer srv.Close()
		otlp, err := otlploghttp.New(context.Background(), append(opts, otlploghttp.WithEndpointURL(srv.URL+"/v1/logs"))...)
		require.NoError(t, err)
		const n = 2000
		provider, ctx := emitThrough(t, newProcessor(otlp), n, "record %d "+strings.Repeat("x", 250), time.Minute)
		flushErr = provider.ForceFlush(ctx)
		recv.mu.Lock()
		defer recv.mu.Unlock()
		seen := map[string]bool{}
		for _, lr := range recv.records {
			b := lr.Body.GetStringValue()
			if seen[b] {
				dup++
			}
			seen[b] = true
		}
		return n, len(seen), dup, tooLarge.Load(), flushErr
	}
	sent, distinct, dup, refused, err := run(func(e sdklog.Exporter) sdklog.Processor {
		return processor.NewBatch(e, processor.WithBatchErrorHandler(func(error) {}))
	})
	require.NoError(t, err)
	require.Positive(t, refused, "no request was over the limit: the test proves nothing")
	require.Equal(t, sent, distinct, "processor.NewBatch lost %d records to the size limit", sent-distinct)
	require.Zero(t, dup)
	t.Logf("processor.NewBatch: %d sent, %d delivered, %d requests refused as too large", sent, distinct, refused)

	sent, distinct, _, refused, err = run(func(e sdklog.Exporter) sdklog.Processor { return sdklog.NewBatchProcessor(e) })
	t.Logf("sdklog.NewBatchProcessor: %d sent, %d delivered (%d lost), %d requests refused; ForceFlush: %v", sent, distinct, sent-distinct, refused, err)

	var tooLarge atomic.Int64
	sent, distinct, dup, refused, err = run(func(e sdklog.Exporter) sdklog.Processor {
		return processor.NewBatch(e, processor.WithBatchErrorHandler(func(err error) {
			if strings.Contains(err.Error(), "request body too large") {
				tooLarge.Add(1)
			}
		}))
	}, otlploghttp.WithMaxRequestSize(limit))
	require.NoError(t, err)
	require.Zero(t, refused, "the client sent a request over its own limit")
	require.Positive(t, tooLarge.Load(), "otlploghttp refused no request: the test proves nothing")
	require.Equal(t, sent, distinct, "processor.NewBatch lost %d records to otlploghttp's own size limit", sent-distinct)
	require.Zero(t, dup)
	t.Logf("processor.NewBatch, otlploghttp.WithMaxRequestSize: %d sent, %d delivered", sent, distinct)
}

// TestOTLPPartialSuccessIsNotRetried: a receiver that takes a request but
// rejects one of its records answers 200 with an OTLP partial success,
// which otlploghttp returns as an error. The OTLP specification forbids
// retrying it; processor.NewBatch does not, so nothing arrives twice, and
// counts the rejected records as lost (the next ForceFlush says so),
// reporting them to its error handler at most once a second.
func TestOTLPPartialSuccessIsNotRetried(t *testing.T) {
	var requests atomic.Int64
	recv := &sink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		recv.ServeHTTP(w, r) // keeps the records, sets the content type
		resp, err := proto.Marshal(&collogs.ExportLogsServiceResponse{PartialSuccess: &collogs.ExportLogsPartialSuccess{
			RejectedLogRecords: 1, ErrorMessage: "one record is too old"}})
		if err == nil {
			_, _ = w.Write(resp)
		}
	}))
	defer srv.Close()
	otlp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(srv.URL+"/v1/logs"))
	require.NoError(t, err)
	var mu sync.Mutex
	var reports []error
	b := processor.NewBatch(otlp, processor.WithMaxExportBatchSize(2),
		processor.WithBatchErrorHandler(func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() }))
	provider, ctx := emitThrough(t, b, 10, "record %d", 10*time.Second)
	err = provider.ForceFlush(ctx)
	require.Error(t, err, "records were rejected: the flush must say so")
	require.ErrorContains(t, err, "5 entries lost")
	require.ErrorContains(t, err, "one record is too old")
	require.EqualValues(t, 5, requests.Load(), "a request was sent again")
	recv.mu.Lock()
	require.Len(t, recv.records, 10)
	recv.mu.Unlock()
	require.EqualValues(t, 5, b.Dropped())
	require.NoError(t, provider.ForceFlush(ctx), "the loss is reported once")

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, reports)
	require.Less(t, len(reports), 5, "one report per answer: %v", reports)
	rejected := 0
	counts := regexp.MustCompile(`(\d+) records rejected by the receiver in \d+ partial successes`)
	for _, r := range reports {
		m := counts.FindStringSubmatch(r.Error())
		require.NotNil(t, m, "%v", r)
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		rejected += n
	}
	require.Equal(t, 5, rejected, "every rejected record in some report")
}

// shutdownWithin shuts provider down, failing the test if that takes
// longer than d (a processor still retrying what it should have let go).
func shutdownWithin(t *testing.T, provider *sdklog.LoggerProvider, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := provider.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestOTLPThroughAHostileReceiver: otlploghttp (its own retries off, so
// that every failure reaches the processor) behind processor.NewBatch
// (default settings but for a queue that holds the whole run), against a receiver that, at random, answers 503, drops
// the connection unanswered, refuses bodies over 32 KiB with 413, or takes
// the request and rejects its first record in a partial success; every
// 500th record holds a string that is not UTF-8. Every record arrives
// exactly once, in order (those not UTF-8 repaired), except the records
// the receiver rejected, which are the ones counted lost.
func TestOTLPThroughAHostileReceiver(t *testing.T) {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	var accepted []string
	rejected := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		var req collogs.ExportLogsServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var bodies []string
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					bodies = append(bodies, lr.Body.GetStringValue())
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		switch p := rng.Float64(); {
		case len(body) > 32<<10:
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		case p < 0.2:
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		case p < 0.3:
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				_ = conn.Close()
			}
		case p < 0.5:
			rejected[bodies[0]] = true
			accepted = append(accepted, bodies[1:]...)
			resp, _ := proto.Marshal(&collogs.ExportLogsServiceResponse{PartialSuccess: &collogs.ExportLogsPartialSuccess{
				RejectedLogRecords: 1, ErrorMessage: "the first one"}})
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(resp)
		default:
			accepted = append(accepted, bodies...)
			w.Header().Set("Content-Type", "application/x-protobuf")
		}
	}))
	defer srv.Close()
	otlp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(srv.URL+"/v1/logs"),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}))
	require.NoError(t, err)
	// A queue that holds every record: the queue-full policy is tested
	// elsewhere, and a drop here would be a loss the receiver did not ask for.
	b := processor.NewBatch(otlp, processor.WithMaxQueueSize(6000), processor.WithBatchErrorHandler(func(error) {}))
	const n = 6000
	provider, ctx := emitBodies(t, b, n, hostileBody, 2*time.Minute)
	for provider.ForceFlush(ctx) != nil {
		require.NoError(t, ctx.Err(), "the flush never succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	requireOnceInOrder(t, n, accepted, rejected, b)
}

// hostileBody is record i's body in the hostile-receiver tests: its number
// first, so bodies sort in emission order, and every 500th not UTF-8.
func hostileBody(i int) string {
	if i%500 == 250 {
		return fmt.Sprintf("%05d \xff not UTF-8 ", i) + strings.Repeat("x", 100)
	}
	return fmt.Sprintf("%05d ", i) + strings.Repeat("x", 100)
}

// requireOnceInOrder checks what a hostile receiver saw of n records:
// every record accepted once and in order (those not UTF-8 repaired) or
// rejected in a partial success, and the rejected ones, and only they,
// counted lost by b.
func requireOnceInOrder(t *testing.T, n int, accepted []string, rejected map[string]bool, b *processor.Batch) {
	t.Helper()
	for i := 1; i < len(accepted); i++ {
		require.Less(t, accepted[i-1], accepted[i], "out of order, or twice")
	}
	require.Equal(t, n, len(accepted)+len(rejected), "every record accepted or rejected, once")
	require.EqualValues(t, len(rejected), b.Dropped(), "the rejected records, and only they, counted lost")
	require.NotEmpty(t, rejected, "no partial success: the test proves less than it says")
	repaired := 0
	for _, body := range accepted {
		require.True(t, utf8.ValidString(body))
		if strings.Contains(body, "\ufffd not UTF-8") {
			repaired++
		}
	}
	require.NotZero(t, repaired, "no record needed repair: the test proves less than it says")
	t.Logf("%d records: %d accepted (%d repaired), %d rejected in partial successes", n, len(accepted), repaired, len(rejected))
}

// emitThrough emits n records, their bodies format with each record's
// number, through a provider around p, which is shut down (within 10 s)
// when the test ends. It returns the provider and a context for its
// flushes that ends after d.
func emitThrough(t *testing.T, p sdklog.Processor, n int, format string, d time.Duration) (*sdklog.LoggerProvider, context.Context) {
	return emitBodies(t, p, n, func(i int) string { return fmt.Sprintf(format, i) }, d)
}

// emitBodies is emitThrough with record i's body body(i).
func emitBodies(t *testing.T, p sdklog.Processor, n int, body func(int) string, d time.Duration) (*sdklog.LoggerProvider, context.Context) {
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(p))
	t.Cleanup(func() { shutdownWithin(t, provider, 10*time.Second) })
	logger := provider.Logger(t.Name())
	for i := range n {
		var rec log.Record
		rec.SetBody(attribute.StringValue(body(i)))
		logger.Emit(context.Background(), rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return provider, ctx
}

// oneNotUTF8 is the body of record i of 2,000 of which one, the 701st, is
// not UTF-8; repaired is that body as it must arrive.
func oneNotUTF8(i int) string {
	if i == 700 {
		return "record \xff\xfe not UTF-8"
	}
	return fmt.Sprintf("record %d", i)
}

const repaired = "record \ufffd\ufffd not UTF-8"

// TestOTLPRecordThatIsNotUTF8: one record whose body is not UTF-8 among
// 2,000. otlploghttp cannot encode a batch holding it (protobuf refuses
// the string) and fails the whole batch with a plain error. Behind
// processor.NewBatch at its defaults, the batch's strings are repaired
// after that failure and it is sent again at once: all 2,000 records
// arrive, that one with U+FFFD where its two bad bytes were, and the flush
// returns nil. The SDK's BatchProcessor loses the whole batch of 512
// (logged, not asserted).
func TestOTLPRecordThatIsNotUTF8(t *testing.T) {
	run := func(newProcessor func(sdklog.Exporter) sdklog.Processor) (bodies map[string]*logspb.LogRecord, flushErr error) {
		recv := &sink{}
		srv := httptest.NewServer(recv)
		defer srv.Close()
		otlp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(srv.URL+"/v1/logs"))
		require.NoError(t, err)
		provider, ctx := emitBodies(t, newProcessor(otlp), 2000, oneNotUTF8, 20*time.Second)
		flushErr = provider.ForceFlush(ctx)
		return recv.bodies(), flushErr
	}
	reports := make(chan error, 100)
	bodies, err := run(func(e sdklog.Exporter) sdklog.Processor {
		return processor.NewBatch(e, processor.WithBatchErrorHandler(func(err error) {
			select {
			case reports <- err:
			default: // never block the processor
			}
		}))
	})
	require.NoError(t, err)
	require.Len(t, bodies, 2000)
	require.Contains(t, bodies, repaired)
	require.ErrorContains(t, <-reports, "invalid UTF-8", "the repair is reported, with the exporter's error")
	t.Logf("processor.NewBatch: 2000 sent, %d delivered", len(bodies))

	bodies, err = run(func(e sdklog.Exporter) sdklog.Processor { return sdklog.NewBatchProcessor(e) })
	t.Logf("sdklog.NewBatchProcessor: 2000 sent, %d delivered (%d lost); ForceFlush: %v", len(bodies), 2000-len(bodies), err)
}

// TestOTLPRecordTooLargeForTheReceiver: one record of 3 MB among 1,000,
// behind a receiver refusing requests over 1 MiB with 413 (nginx's default
// body limit), through otlploghttp at its defaults. Behind processor.NewBatch
// at its defaults, the record is isolated by halving and, after its third
// failure alone, cut to fit and marked: all 1,000 records arrive within
// seconds, where the retry budget (5 minutes) would otherwise hold the
// queue. The SDK's BatchProcessor loses the batch of 512 it was in
// (logged, not asserted). Behind a 256 KiB limit, a 600 KiB record is cut
// to processor.WithMaxRecordBytes(256 KiB) the same way.
func TestOTLPRecordTooLargeForTheReceiver(t *testing.T) {
	run := func(limit int64, big string, newProcessor func(sdklog.Exporter) sdklog.Processor) (got map[string]*logspb.LogRecord, flushErr error) {
		recv := &sink{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				http.Error(w, "request entity too large", http.StatusRequestEntityTooLarge)
				return
			}
			recv.ServeHTTP(w, r)
		}))
		defer srv.Close()
		otlp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(srv.URL+"/v1/logs"))
		require.NoError(t, err)
		provider, ctx := emitBodies(t, newProcessor(otlp), 1000, func(i int) string {
			if i == 600 {
				return big
			}
			return fmt.Sprintf("record %d", i)
		}, time.Minute)
		flushErr = provider.ForceFlush(ctx)
		return recv.bodies(), flushErr
	}
	for _, c := range []struct {
		name  string
		limit int64
		big   int
		opts  []processor.BatchOption
	}{
		{"defaults, 1 MiB limit", 1 << 20, 3 << 20, nil},
		{"WithMaxRecordBytes, 256 KiB limit", 256 << 10, 600 << 10, []processor.BatchOption{processor.WithMaxRecordBytes(256 << 10)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			big := strings.Repeat("y", c.big)
			got, err := run(c.limit, big, func(e sdklog.Exporter) sdklog.Processor {
				return processor.NewBatch(e, append(c.opts, processor.WithBatchErrorHandler(func(error) {}))...)
			})
			require.NoError(t, err)
			require.Len(t, got, 1000)
			var cut *logspb.LogRecord
			for body, lr := range got {
				if strings.HasPrefix(body, "yyyy") {
					cut = lr
				}
			}
			require.NotNil(t, cut, "the large record did not arrive")
			require.Less(t, int64(len(cut.Body.GetStringValue())), c.limit)
			marked := false
			for _, kv := range cut.Attributes {
				if kv.Key == bridge.TruncatedKey {
					marked = kv.Value.GetBoolValue()
				}
			}
			require.True(t, marked, "the cut record carries %s", bridge.TruncatedKey)
			t.Logf("processor.NewBatch: 1000 sent, %d delivered, the %d-byte record cut to %d bytes", len(got), c.big, len(cut.Body.GetStringValue()))

			got, err = run(c.limit, big, func(e sdklog.Exporter) sdklog.Processor { return sdklog.NewBatchProcessor(e) })
			t.Logf("sdklog.NewBatchProcessor: 1000 sent, %d delivered (%d lost); ForceFlush: %v", len(got), 1000-len(got), err)
		})
	}
}
