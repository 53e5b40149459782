package stress

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	httpexporter "github.com/fapilog/fapilog-otel/exporters/http"
	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

type key struct{ g, i int }

func parse(t *testing.T, line []byte) key {
	var e struct {
		Log struct {
			Data struct{ G, I int } `json:"data"`
		} `json:"log"`
	}
	require.NoError(t, json.Unmarshal(line, &e), "%q", line)
	return key{e.Log.Data.G, e.Log.Data.I}
}

// flaky answers 503 to every third request and drops every seventh
// connection unanswered; it keeps the entries of the requests it accepted.
type flaky struct {
	mu   sync.Mutex
	n    int
	got  map[key]int
	t    *testing.T
	reqs atomic.Int64
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	f.reqs.Add(1)
	if n%7 == 0 {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	if n%3 == 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
		if len(l) > 0 {
			f.got[parse(f.t, l)]++
		}
	}
}

func TestStress(t *testing.T) {
	defer goleak.VerifyNone(t)
	const emitters, each = 8, 1500
	recv := &flaky{got: map[key]int{}, t: t}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	dir := t.TempDir()
	out := testdest.New()

	stdout, err := stdoutjson.New(stdoutjson.WithWriter(out), stdoutjson.WithBuffer(delivery.Buffer{Size: 4096}))
	require.NoError(t, err)
	files, err := rotatingfile.New(rotatingfile.WithDirectory(dir), rotatingfile.WithMaxSize(32<<10),
		rotatingfile.WithCompression(rotatingfile.CompressionGzip), rotatingfile.WithBuffer(delivery.Buffer{Size: 2048}))
	require.NoError(t, err)
	const bound = 256 << 10
	httpSink, err := httpexporter.NewSink(httpexporter.WithEndpoint(srv.URL),
		httpexporter.WithDelivery(delivery.Options{
			Retry:       delivery.Retry{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsedTime: 10 * time.Second},
			Batch:       delivery.Batch{MaxEntries: 64, MaxAge: 10 * time.Millisecond},
			Concurrency: 3,
			Pending:     delivery.Pending{MaxBytes: bound},
		}))
	require.NoError(t, err)
	post, err := bridge.NewExporter(httpSink)
	require.NoError(t, err)

	queue := sdklog.WithMaxQueueSize(1 << 16)
	provider := sdklog.NewLoggerProvider(
		sdklog.WithProcessor(sdklog.NewBatchProcessor(stdout, queue)),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(files, queue)),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(post, queue, sdklog.WithExportMaxBatchSize(100))),
	)

	var peak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if p := int64(httpSink.PendingBytes()); p > peak.Load() {
				peak.Store(p)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()

	var emitWG, flushWG sync.WaitGroup
	done := make(chan struct{})
	for range 2 {
		flushWG.Add(1)
		go func() {
			defer flushWG.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				// A generous deadline: the SDK's BatchProcessor drops the
				// queued records it has not exported yet when a flush's
				// deadline ends mid-way (docs/flush.md), which is not
				// what this test is about.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = provider.ForceFlush(ctx) // delivery errors (503, resets) are expected
				cancel()
			}
		}()
	}
	for g := range emitters {
		emitWG.Add(1)
		go func() {
			defer emitWG.Done()
			logger := otelslog.NewLogger("stress", otelslog.WithLoggerProvider(provider))
			for i := range each {
				logger.Info("record", "g", g, "i", i)
			}
		}()
	}
	emitWG.Wait()
	close(done)
	var shutdowns sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		shutdowns.Add(1)
		go func() {
			defer shutdowns.Done()
			errs <- provider.Shutdown(context.Background())
		}()
	}
	shutdowns.Wait()
	flushWG.Wait()
	close(stopSampling)
	<-sampled
	close(errs)
	for err := range errs {
		if err != nil && !strings.Contains(err.Error(), "not delivered") && !strings.Contains(err.Error(), "dropped") {
			t.Errorf("Shutdown: %v", err)
		}
	}

	emitted := emitters * each
	// stdout: everything, once.
	stdoutSeen := map[key]int{}
	for _, l := range out.Lines() {
		stdoutSeen[parse(t, l)]++
	}
	requireAllOnce(t, "stdout", stdoutSeen, emitted)

	// files: everything, once, across rotated and compressed files.
	fileSeen := map[key]int{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".tmp"), "compression left %s", e.Name())
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		if strings.HasSuffix(e.Name(), ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			require.NoError(t, err)
			b, err = io.ReadAll(zr)
			require.NoError(t, err)
		}
		for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			if len(l) > 0 {
				fileSeen[parse(t, l)]++
			}
		}
	}
	if len(fileSeen) != emitted {
		for g := range emitters {
			missing := []int{}
			for i := range each {
				if fileSeen[key{g, i}] == 0 {
					missing = append(missing, i)
				}
			}
			if len(missing) > 0 {
				t.Logf("g=%d missing %d: first %v last %v", g, len(missing), missing[:min(5, len(missing))], missing[len(missing)-1])
			}
		}
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Logf("files: %v", names[:min(20, len(names))])
	}
	requireAllOnce(t, "files", fileSeen, emitted)
	assert.Greater(t, len(entries), 10, "rotation ran")

	// HTTP: never twice; what did not arrive was counted.
	recv.mu.Lock()
	delivered := len(recv.got)
	for k, n := range recv.got {
		require.Equal(t, 1, n, "http: %v delivered %d times", k, n)
	}
	recv.mu.Unlock()
	assert.Equal(t, int64(emitted), int64(delivered)+httpSink.Lost(), "delivered + lost = emitted")
	assert.LessOrEqual(t, peak.Load(), int64(bound), "pending bytes within the bound")
	t.Logf("stress: %d records; http delivered %d, counted lost %d, %d requests; peak pending %d of %d bytes; %d files",
		emitted, delivered, httpSink.Lost(), recv.reqs.Load(), peak.Load(), bound, len(entries))
}

func requireAllOnce(t *testing.T, where string, seen map[key]int, emitted int) {
	t.Helper()
	require.Equal(t, emitted, len(seen), "%s: records present", where)
	for k, n := range seen {
		require.Equal(t, 1, n, "%s: %v appears %d times", where, k, n)
	}
}
