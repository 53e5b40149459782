package collectorfiles

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
	"github.com/fapilog/fapilog-otel/processor"
)

var traceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}

// write emits records [from, to) through a provider into rotating OTLP/JSON
// files in dir, small enough to rotate often and compressed with comp, then
// shuts down (as a process that exits would).
func write(t *testing.T, dir string, from, to int, comp rotatingfile.Compression, exporterOpts ...bridge.Option) {
	t.Helper()
	exp, err := rotatingfile.New(rotatingfile.WithDirectory(dir), rotatingfile.WithExporterOptions(bridge.WithFormat(bridge.FormatOTLPJSON)),
		rotatingfile.WithMaxSize(64<<10), rotatingfile.WithCompression(comp), rotatingfile.WithExporterOptions(exporterOpts...))
	require.NoError(t, err)
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"))
	provider := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(processor.NewBatch(exp)))
	logger := provider.Logger("collectorfiles", log.WithInstrumentationVersion("1.2.3"))
	for i := from; i < to; i++ {
		var r log.Record
		r.SetTimestamp(time.Unix(1_800_000_000, int64(i)))
		r.SetSeverity(log.SeverityWarn)
		r.SetSeverityText("WARN")
		r.SetBody(attribute.StringValue(fmt.Sprintf("record %d", i)))
		r.AddAttributes(attribute.Int("seq", i), attribute.String("user_id", "u-1"), attribute.Map("m", attribute.Bool("ok", true)))
		ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: traceID, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled}))
		logger.Emit(ctx, r)
	}
	if from == 0 {
		// One record far over the receiver's 1 MiB line limit: we write
		// it cut to fit, visibly, never as a line the receiver splits.
		var r log.Record
		r.SetBody(attribute.StringValue("huge " + strings.Repeat("h", 3<<20)))
		logger.Emit(context.Background(), r)
	}
	require.NoError(t, provider.ForceFlush(context.Background()))
	require.NoError(t, provider.Shutdown(context.Background()))
	<-exp.Sink().(*rotatingfile.Sink).Closed() // compression finished
}

// read reads every file in dir as the otlpjsonfile receiver does: stanza's
// fileconsumer from the beginning of each file, gzip included, each line
// through pdata's JSON unmarshaler.
func read(t *testing.T, dir string, want int) (map[string]plog.LogRecord, int) {
	t.Helper()
	cfg := fileconsumer.NewConfig()
	cfg.Include = []string{filepath.Join(dir, "*")}
	cfg.StartAt = "beginning"
	cfg.Compression = "auto"
	cfg.PollInterval = 10 * time.Millisecond
	var mu sync.Mutex
	got := map[string]plog.LogRecord{}
	n := 0 // records read, duplicates included
	var errs []error
	unmarshal := &plog.JSONUnmarshaler{}
	m, err := cfg.Build(componenttest.NewNopTelemetrySettings(), func(_ context.Context, tokens [][]byte, _ map[string]any, _ int64, _ []int64) error {
		mu.Lock()
		defer mu.Unlock()
		for _, tok := range tokens {
			logs, err := unmarshal.UnmarshalLogs(tok)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %.200s", err, tok))
				continue
			}
			rls := logs.ResourceLogs()
			for i := range rls.Len() {
				sls := rls.At(i).ScopeLogs()
				for j := range sls.Len() {
					lrs := sls.At(j).LogRecords()
					for k := range lrs.Len() {
						lr := lrs.At(k)
						got[lr.Body().Str()] = lr
						n++
					}
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, m.Start(nil))
	defer func() { require.NoError(t, m.Stop()) }()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= want || len(errs) > 0 },
		30*time.Second, 10*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, errs, "lines the Collector could not read")
	return got, n
}

func TestCollectorReadsRotatingOTLPJSON(t *testing.T) {
	dir := t.TempDir()
	const first, second, total = 3000, 4000, 6000
	write(t, dir, 0, first, rotatingfile.CompressionGzip)
	// A restart: a new process, the same directory, writing one request
	// per exported batch per line.
	write(t, dir, first, second, rotatingfile.CompressionGzip, bridge.WithOTLPBatchLines())
	// Another, leaving its rotated files uncompressed (it compresses
	// nothing, so the earlier files stay as they are too).
	write(t, dir, second, total, rotatingfile.CompressionNone)

	var plain, gz int
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".gz") {
			gz++
		} else {
			plain++
		}
	}
	require.Positive(t, gz, "some rotated files are compressed")
	require.Greater(t, plain, 1, "some are not, besides the active file")

	got, n := read(t, dir, total+1)
	require.Len(t, got, total+1, "every record read back")
	require.Equal(t, total+1, n, "none read twice")
	var huge plog.LogRecord
	for body, lr := range got {
		if strings.HasPrefix(body, "huge ") {
			huge = lr
		}
	}
	trunc, ok := huge.Attributes().Get(bridge.TruncatedKey)
	require.True(t, ok && trunc.Bool(), "the oversized record arrives whole, marked as cut")
	orig, _ := huge.Attributes().Get(bridge.OriginalBytesKey)
	assert.Greater(t, orig.Int(), int64(3<<20))
	for i := range total {
		lr, ok := got[fmt.Sprintf("record %d", i)]
		require.True(t, ok, "record %d", i)
		assert.EqualValues(t, 13, lr.SeverityNumber())
		assert.Equal(t, "WARN", lr.SeverityText())
		assert.Equal(t, time.Unix(1_800_000_000, int64(i)).UTC(), lr.Timestamp().AsTime())
		assert.Equal(t, hex.EncodeToString(traceID[:]), hex.EncodeToString(func() []byte { id := lr.TraceID(); return id[:] }()))
		seq, _ := lr.Attributes().Get("seq")
		assert.EqualValues(t, i, seq.Int())
		m, _ := lr.Attributes().Get("m")
		ok2, _ := m.Map().Get("ok")
		assert.True(t, ok2.Bool())
		if t.Failed() {
			return
		}
	}
	t.Logf("read back %d records from %d plain and %d gzip files with the Collector's fileconsumer and pdata", total, plain, gz)
}
