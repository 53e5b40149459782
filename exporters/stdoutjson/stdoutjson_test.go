package stdoutjson_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/internal/envelopetest"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newProvider builds the pipeline users build. The batch queue holds the
// tests' whole burst: the SDK drops the oldest queued records when its
// queue is full (2048 by default), which is the SDK's policy, not the
// exporter's, and would make the counts below meaningless.
func newProvider(t *testing.T, dest *testdest.Writer, opts ...stdoutjson.Option) *sdklog.LoggerProvider {
	t.Helper()
	exp, err := stdoutjson.New(append([]stdoutjson.Option{stdoutjson.WithWriter(dest)}, opts...)...)
	require.NoError(t, err)
	return sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp, sdklog.WithMaxQueueSize(16384))))
}

type envelope struct {
	Log struct {
		Message string         `json:"message"`
		Level   string         `json:"level"`
		Data    map[string]any `json:"data"`
	} `json:"log"`
}

// The promise, end to end: when provider.ForceFlush returns nil, every
// record emitted before it is on the writer.
func TestForceFlushDeliversEverything(t *testing.T) {
	dest := testdest.New()
	provider := newProvider(t, dest)
	logger := otelslog.NewLogger("checkout", otelslog.WithLoggerProvider(provider))
	const n = 10000
	for i := range n {
		logger.Info("order placed", "seq", i, "user_id", "u-1")
	}
	require.NoError(t, provider.ForceFlush(context.Background()))

	lines := dest.Lines()
	require.Equal(t, n, len(lines))
	seen := make([]bool, n)
	for i, l := range lines {
		var e envelope
		require.NoError(t, json.Unmarshal(l, &e), "line %d", i)
		assert.Equal(t, "order placed", e.Log.Message)
		assert.Equal(t, "INFO", e.Log.Level)
		seq := int(e.Log.Data["seq"].(float64))
		require.False(t, seen[seq], "record %d written twice", seq)
		seen[seq] = true
		if i%500 == 0 {
			envelopetest.RequireValid(t, l)
		}
	}
	require.NoError(t, provider.Shutdown(context.Background()))
}

func TestForceFlushReturnsOnTimeWhenWriterBlocks(t *testing.T) {
	dest := testdest.New()
	provider := newProvider(t, dest)
	logger := otelslog.NewLogger("checkout", otelslog.WithLoggerProvider(provider))
	resume := dest.Stall()
	const n = 300
	for i := range n {
		logger.Warn("disk slow", "seq", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := provider.ForceFlush(ctx)
	took := time.Since(start)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, took, time.Second, "ForceFlush overran its 50ms deadline")
	assert.Empty(t, dest.Lines(), "the writer was blocked; nothing can have arrived")

	resume()
	require.NoError(t, provider.ForceFlush(context.Background()))
	lines := dest.Lines()
	require.Equal(t, n, len(lines), "records blocked behind the writer must still be delivered")
	for i, l := range lines {
		var e envelope
		require.NoError(t, json.Unmarshal(l, &e))
		assert.Equal(t, float64(i), e.Log.Data["seq"], "order kept")
	}
	require.NoError(t, provider.Shutdown(context.Background()))
}

func TestShutdownFlushes(t *testing.T) {
	dest := testdest.New()
	provider := newProvider(t, dest)
	logger := otelslog.NewLogger("svc", otelslog.WithLoggerProvider(provider))
	for range 25 {
		logger.Error("failed", "err", "boom")
	}
	require.NoError(t, provider.Shutdown(context.Background()))
	assert.Len(t, dest.Lines(), 25)
}

func TestOTLPJSONOption(t *testing.T) {
	dest := testdest.New()
	provider := newProvider(t, dest, stdoutjson.WithExporterOptions(bridge.WithFormat(bridge.FormatOTLPJSON)))
	slog.New(otelslog.NewHandler("svc", otelslog.WithLoggerProvider(provider))).Info("hi")
	require.NoError(t, provider.ForceFlush(context.Background()))
	lines := dest.Lines()
	require.Len(t, lines, 1)
	assert.Contains(t, string(lines[0]), `"resourceLogs"`)
	require.NoError(t, provider.Shutdown(context.Background()))
}

func TestOptionsValidated(t *testing.T) {
	_, err := stdoutjson.New(stdoutjson.WithWriter(nil))
	assert.ErrorContains(t, err, "WithWriter")
	_, err = stdoutjson.NewSink(stdoutjson.WithBuffer(delivery.Buffer{Size: -1}))
	assert.ErrorContains(t, err, "stdoutjson: WithBuffer: Size: -1 is negative")
	_, err = stdoutjson.New(stdoutjson.WithExporterOptions(bridge.WithFormat(bridge.Format(42))))
	assert.ErrorContains(t, err, "WithFormat")
}

func TestHealthCheckReportsLastWrite(t *testing.T) {
	dest := testdest.New()
	exp, err := stdoutjson.New(stdoutjson.WithWriter(dest))
	require.NoError(t, err)
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	logger := otelslog.NewLogger("svc", otelslog.WithLoggerProvider(provider))
	heal := dest.Fail()
	logger.Info("lost")
	assert.Error(t, provider.ForceFlush(context.Background()))
	assert.ErrorIs(t, exp.HealthCheck(context.Background()), testdest.ErrInjected)
	heal()
	logger.Info("kept")
	require.NoError(t, provider.ForceFlush(context.Background()))
	assert.NoError(t, exp.HealthCheck(context.Background()))
	require.NoError(t, provider.Shutdown(context.Background()))
}

// An Export larger than one part (the bridge hands a large Export over in
// parts while it encodes) is on the writer, whole and in order, when
// Export returns, without a flush.
func TestLargeExportWrittenThrough(t *testing.T) {
	dest := testdest.New()
	exp, err := stdoutjson.New(stdoutjson.WithWriter(dest))
	require.NoError(t, err)
	const n = 2000 // about 1.3 MB of lines: several parts
	recs := make([]sdklog.Record, n)
	var f logtest.RecordFactory
	for i := range recs {
		f.Body = attribute.StringValue(fmt.Sprintf("record %d %s", i, strings.Repeat("x", 400)))
		recs[i] = f.NewRecord()
	}
	require.NoError(t, exp.Export(context.Background(), recs))
	lines := dest.Lines()
	require.Equal(t, n, len(lines), "lines on the writer when Export returned")
	for i, l := range lines {
		var e envelope
		require.NoError(t, json.Unmarshal(l, &e), "line %d", i)
		require.True(t, strings.HasPrefix(e.Log.Message, fmt.Sprintf("record %d ", i)), "line %d out of order", i)
	}
	require.NoError(t, exp.Shutdown(context.Background()))
}

type panickingWriter struct{}

func (panickingWriter) Write([]byte) (int, error) { panic("a bug in the caller's writer") }

// A writer given with WithWriter that panics does not take the program
// down (it runs on the sink's goroutine): logging fails with an error, the
// health check says why, and shutdown completes.
func TestPanickingWriterDoesNotCrash(t *testing.T) {
	exp, err := stdoutjson.New(stdoutjson.WithWriter(panickingWriter{}))
	require.NoError(t, err)
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	logger := otelslog.NewLogger("svc", otelslog.WithLoggerProvider(provider))
	logger.Info("first")
	err = provider.ForceFlush(context.Background())
	require.Error(t, err)
	assert.ErrorContains(t, err, "panicked")
	assert.ErrorContains(t, exp.HealthCheck(context.Background()), "a bug in the caller's writer")
	logger.Info("second")
	require.Error(t, provider.ForceFlush(context.Background()))
	_ = provider.Shutdown(context.Background())
}
