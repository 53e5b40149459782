package httpexporter

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/bridge/sinktest"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fastRetry keeps retries quick so fault tests take milliseconds.
var fastRetry = delivery.Retry{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsedTime: 5 * time.Second}

// fast returns d with quick retries unless d sets its own.
func fast(d delivery.Options) Option {
	if d.Retry == (delivery.Retry{}) {
		d.Retry = fastRetry
	}
	return WithDelivery(d)
}

func newTestSink(t *testing.T, r *receiver, d delivery.Options, opts ...Option) *delivery.Sink {
	t.Helper()
	s, err := NewSink(append([]Option{WithEndpoint(r.srv.URL), fast(d)}, opts...)...)
	require.NoError(t, err)
	return s
}

func add(t *testing.T, s *delivery.Sink, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		require.NoError(t, s.Write(context.Background(), []byte(fmt.Sprintf(`{"seq":%d}`, i))))
	}
}

func requireExactlyOnce(t *testing.T, got [][]byte, n int) {
	t.Helper()
	require.Equal(t, n, len(got), "entries at the receiver")
	for i, e := range got {
		require.Equal(t, fmt.Sprintf(`{"seq":%d}`, i), string(e), "entry %d lost, repeated or reordered", i)
	}
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		r := newReceiver(t)
		s := newTestSink(t, r, delivery.Options{
			Retry: delivery.Retry{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsedTime: 100 * time.Millisecond},
			Batch: delivery.Batch{MaxEntries: 64},
		})
		return sinktest.Harness{Sink: s, Delivered: r.entries, Stall: r.Stall, Fail: r.Fail}
	})
}

func TestUnavailableThenRecovers(t *testing.T) {
	r := newReceiver(t)
	r.respond = func(n int, _ http.ResponseWriter) int {
		if n < 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	s := newTestSink(t, r, delivery.Options{})
	add(t, s, 0, 100)
	require.NoError(t, s.Flush(context.Background()))
	requireExactlyOnce(t, r.entries(), 100)
	assert.Equal(t, 4, r.count())
	require.NoError(t, s.Stop(context.Background()))
}

func TestRetryAfter(t *testing.T) {
	for name, header := range map[string]func() string{
		"seconds":   func() string { return "1" },
		"http-date": func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) },
	} {
		t.Run(name, func(t *testing.T) {
			r := newReceiver(t)
			var mu sync.Mutex
			var at []time.Time
			r.respond = func(n int, w http.ResponseWriter) int {
				mu.Lock()
				at = append(at, time.Now())
				mu.Unlock()
				if n == 0 {
					w.Header().Set("Retry-After", header())
					return http.StatusTooManyRequests
				}
				return http.StatusOK
			}
			s := newTestSink(t, r, delivery.Options{})
			add(t, s, 0, 5)
			require.NoError(t, s.Flush(context.Background()))
			requireExactlyOnce(t, r.entries(), 5)
			require.Len(t, at, 2)
			// The backoff alone would retry within 5ms; the header asked
			// for about a second (an HTTP-date has whole seconds, so 1-2s).
			assert.GreaterOrEqual(t, at[1].Sub(at[0]), 900*time.Millisecond)
			require.NoError(t, s.Stop(context.Background()))
		})
	}
}

// A Retry-After longer than the retry budget (default five minutes) gives
// the batch up at once, counted, at the default settings: a receiver that
// answers "come back in 300 years" must not pin the batch, and every Flush
// after it, until Stop.
func TestRetryAfterBeyondBudget(t *testing.T) {
	for name, header := range map[string]string{
		"seconds, past a Duration": "99999999999",
		"seconds":                  "3600",
		"http-date":                "Fri, 31 Dec 9999 23:59:59 GMT",
	} {
		t.Run(name, func(t *testing.T) {
			r := newReceiver(t)
			r.respond = func(_ int, w http.ResponseWriter) int {
				w.Header().Set("Retry-After", header)
				return http.StatusServiceUnavailable
			}
			s, err := NewSink(WithEndpoint(r.srv.URL))
			require.NoError(t, err)
			add(t, s, 0, 3)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = s.Flush(ctx)
			require.Error(t, err)
			require.NoError(t, ctx.Err(), "given up, not left waiting out the header")
			assert.Contains(t, err.Error(), "gave up after 1 attempts")
			assert.Contains(t, err.Error(), "3 entries lost")
			assert.Equal(t, 1, r.count())
			assert.EqualValues(t, 3, s.Lost())
			require.NoError(t, s.Stop(context.Background()))
		})
	}
}

// A receiver that answers 2xx and then trickles (or never finishes) its
// response body has acknowledged the batch: at the default settings the
// Flush returns once the status is in, not after the 30 s request timeout,
// and nothing is counted lost.
func TestSlowResponseBodyAfterAcknowledgement(t *testing.T) {
	release := make(chan struct{})
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		got.Add(int64(bytes.Count(body, []byte("\n"))))
		w.Header().Set("Content-Length", strconv.Itoa(1<<20))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{"))
		w.(http.Flusher).Flush()
		select { // the rest of the body never comes
		case <-release:
		case <-req.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s, err := NewSink(WithEndpoint(srv.URL))
	require.NoError(t, err)
	add(t, s, 0, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Flush(ctx), "acknowledged by its status")
	require.NoError(t, ctx.Err())
	assert.EqualValues(t, 5, got.Load())
	assert.Zero(t, s.Lost())
	require.NoError(t, s.Stop(context.Background()))
}

type panickingTransport struct{}

func (panickingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	panic("a bug in the caller's transport")
}

// An injected client whose transport panics does not end the program (it
// runs on the sink's goroutine): the batch fails, counted, and Stop ends.
func TestPanickingClientIsContained(t *testing.T) {
	s, err := NewSink(WithEndpoint("https://logs.example.com/ingest"),
		WithDelivery(delivery.Options{Client: &http.Client{Transport: panickingTransport{}}}))
	require.NoError(t, err)
	add(t, s, 0, 3)
	err = s.Flush(context.Background())
	require.Error(t, err)
	assert.ErrorContains(t, err, "a bug in the caller's transport")
	assert.ErrorContains(t, err, "3 entries lost")
	assert.EqualValues(t, 3, s.Lost())
	require.NoError(t, s.Stop(context.Background()))
}

func TestClientErrorNotRetriedAndNoSecretsInErrors(t *testing.T) {
	r := newReceiver(t)
	r.respond = func(int, http.ResponseWriter) int { return http.StatusBadRequest }
	endpoint := strings.Replace(r.srv.URL, "http://", "http://user:hunter2@", 1) + "/ingest?token=s3cret"
	s, err := NewSink(WithEndpoint(endpoint), fast(delivery.Options{Headers: http.Header{"Authorization": {"Bearer topsecret"}}}))
	require.NoError(t, err)
	add(t, s, 0, 3)
	err = s.Flush(context.Background())
	require.Error(t, err)
	assert.Equal(t, 1, r.count(), "a 400 is not retried")
	assert.Contains(t, err.Error(), "400")
	assert.Contains(t, err.Error(), "3 entries lost")
	assert.Contains(t, err.Error(), strings.TrimPrefix(r.srv.URL, "http://")+"/ingest")
	for _, secret := range []string{"hunter2", "s3cret", "topsecret", "user"} {
		assert.NotContains(t, err.Error(), secret)
	}
	assert.EqualValues(t, 3, s.Lost())
	assert.Error(t, s.HealthCheck(context.Background()))
	require.NoError(t, s.Stop(context.Background()))
}

func TestNotImplementedIsNotRetried(t *testing.T) {
	r := newReceiver(t)
	r.respond = func(int, http.ResponseWriter) int { return http.StatusNotImplemented }
	s := newTestSink(t, r, delivery.Options{})
	add(t, s, 0, 1)
	assert.Error(t, s.Flush(context.Background()))
	assert.Equal(t, 1, r.count())
	require.NoError(t, s.Stop(context.Background()))
}

func TestConnectionResetIsRetried(t *testing.T) {
	r := newReceiver(t)
	r.reset = func(n int) bool { return n < 2 }
	s := newTestSink(t, r, delivery.Options{})
	add(t, s, 0, 20)
	require.NoError(t, s.Flush(context.Background()))
	requireExactlyOnce(t, r.entries(), 20)
	require.NoError(t, s.Stop(context.Background()))
}

func TestServerThatNeverAnswers(t *testing.T) {
	r := newReceiver(t)
	resume := r.Stall()
	defer resume()
	s := newTestSink(t, r, delivery.Options{RequestTimeout: time.Hour})
	add(t, s, 0, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Flush(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
	assert.Contains(t, err.Error(), "10 entries not yet delivered")

	stopCtx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	assert.ErrorIs(t, s.Stop(stopCtx), context.DeadlineExceeded)
	assert.EqualValues(t, 10, s.Lost(), "abandoned at Stop, and counted")
}

func TestBodiesAndCompression(t *testing.T) {
	for _, c := range []struct {
		name     string
		body     BodyFormat
		comp     Compression
		encoding string
	}{
		{"ndjson", BodyNDJSON, CompressionNone, ""},
		{"array-gzip", BodyArray, CompressionGzip, "gzip"},
		{"wrapped-zstd", BodyWrapped, CompressionZstd, "zstd"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newReceiver(t)
			s := newTestSink(t, r, delivery.Options{Batch: delivery.Batch{MaxEntries: 7}}, WithBodyFormat(c.body), WithCompression(c.comp))
			add(t, s, 0, 30)
			require.NoError(t, s.Flush(context.Background()))
			requireExactlyOnce(t, r.entries(), 30)
			assert.Equal(t, 5, r.count(), "batches of at most 7")
			for _, enc := range r.bodies {
				assert.Equal(t, c.encoding, enc)
			}
			require.NoError(t, s.Stop(context.Background()))
		})
	}
}

func TestBoundedMemoryDropsAreCounted(t *testing.T) {
	r := newReceiver(t)
	resume := r.Stall()
	s := newTestSink(t, r, delivery.Options{Batch: delivery.Batch{MaxEntries: 1, MaxBytes: 50}, Pending: delivery.Pending{MaxBytes: 100}})
	var dropped int
	for i := range 50 {
		if err := s.Write(context.Background(), []byte(fmt.Sprintf(`{"seq":%d}`, i))); err != nil {
			assert.ErrorIs(t, err, delivery.ErrDropped)
			dropped++
		}
	}
	assert.Positive(t, dropped)
	assert.EqualValues(t, dropped, s.Lost())
	assert.LessOrEqual(t, s.PendingBytes(), 100, "memory stays within the bound while the receiver hangs")
	resume()
	err := s.Flush(context.Background())
	require.ErrorIs(t, err, delivery.ErrDropped, "the flush after the drops counts them")
	assert.Contains(t, err.Error(), fmt.Sprintf("%d entries lost", dropped))
	require.NoError(t, s.Flush(context.Background()), "once")
	assert.Equal(t, 50-dropped, len(r.entries()), "delivered + dropped = written")
	require.NoError(t, s.Stop(context.Background()))
}

func TestConfigurationErrors(t *testing.T) {
	for opt, opts := range map[string][]Option{
		"WithEndpoint":       {},
		"not an http(s)":     {WithEndpoint("ftp://example.com")},
		"needs WithInsecure": {WithEndpoint("http://example.com/logs")},
		"WithBodyFormat":     {WithEndpoint("https://example.com"), WithBodyFormat(9)},
		"WithCompression":    {WithEndpoint("https://example.com"), WithCompression(9)},
		"httpexporter: WithDelivery: Concurrency: -1 is negative": {WithEndpoint("https://example.com"), WithDelivery(delivery.Options{Concurrency: -1})},
		"httpexporter: WithDelivery: Headers":                     {WithEndpoint("https://example.com"), WithDelivery(delivery.Options{Headers: http.Header{"Bad Name": {"v"}}})},
	} {
		_, err := NewSink(opts...)
		assert.ErrorContains(t, err, opt)
	}
	s, err := NewSink(WithEndpoint("http://example.com/logs"), WithDelivery(delivery.Options{AllowInsecure: true}))
	require.NoError(t, err)
	require.NoError(t, s.Stop(context.Background()))
	s, err = NewSink(WithEndpoint("http://127.0.0.1:9/logs"))
	require.NoError(t, err, "plain http is fine on loopback")
	require.NoError(t, s.Stop(context.Background()))
}

func TestTLSConfigInjection(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	s, err := NewSink(WithEndpoint(srv.URL), fast(delivery.Options{TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}))
	require.NoError(t, err)
	require.NoError(t, s.Write(context.Background(), []byte(`{"n":1}`)))
	require.NoError(t, s.Flush(context.Background()))
	mu.Lock()
	assert.Equal(t, 1, n)
	mu.Unlock()
	require.NoError(t, s.Stop(context.Background()))

	// Without the receiver's CA, the handshake fails and the error says so.
	s, err = NewSink(WithEndpoint(srv.URL), fast(delivery.Options{Retry: delivery.Retry{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxElapsedTime: 20 * time.Millisecond}}))
	require.NoError(t, err)
	require.NoError(t, s.Write(context.Background(), []byte(`{"n":2}`)))
	assert.ErrorContains(t, s.Flush(context.Background()), "certificate")
	require.NoError(t, s.Stop(context.Background()))
}

// A receiver that reads the first request too slowly: the attempt times
// out, is retried, and the entries arrive exactly once.
func TestSlowReaderTimesOutAndRetries(t *testing.T) {
	var mu sync.Mutex
	var got []string
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			buf := make([]byte, 1)
			for {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
				if _, err := r.Body.Read(buf); err != nil {
					return
				}
			}
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, strings.Split(strings.TrimSpace(string(b)), "\n")...)
		mu.Unlock()
	}))
	defer srv.Close()
	s, err := NewSink(WithEndpoint(srv.URL), fast(delivery.Options{RequestTimeout: 100 * time.Millisecond}))
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, s.Write(context.Background(), []byte(fmt.Sprintf(`{"seq":%d}`, i))))
	}
	require.NoError(t, s.Flush(context.Background()))
	mu.Lock()
	assert.Equal(t, 10, len(got))
	assert.GreaterOrEqual(t, calls, 2)
	mu.Unlock()
	require.NoError(t, s.Stop(context.Background()))
}
