package integration

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
	"github.com/fapilog/fapilog-otel/exporters/webhook"
)

// sink is the loopback receiver the Collector forwards to.
type sink struct {
	mu      sync.Mutex
	records []*logspb.LogRecord
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req collogs.ExportLogsServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			s.records = append(s.records, sl.LogRecords...)
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func (s *sink) bodies() map[string]*logspb.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]*logspb.LogRecord{}
	for _, r := range s.records {
		out[r.Body.GetStringValue()] = r
	}
	return out
}

type collector struct {
	t      *testing.T
	bin    string
	config string
	cmd    *exec.Cmd
	out    bytes.Buffer
	addr   string
}

// newCollector writes a config with an OTLP/HTTP receiver on a free
// loopback port and an OTLP/HTTP exporter to forward (the test's receiver).
func newCollector(t *testing.T, bin, dir, forward string) *collector {
	c := &collector{t: t, bin: bin, addr: freeAddr(t), config: filepath.Join(dir, "otelcol.yaml")}
	require.NoError(t, os.WriteFile(c.config, []byte(fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
exporters:
  otlphttp:
    logs_endpoint: %s/v1/logs
    compression: none
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [otlphttp]
`, c.addr, forward)), 0o600))
	return c
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func (c *collector) start() {
	c.t.Helper()
	c.cmd = exec.Command(c.bin, "--config", "file:"+c.config)
	c.out.Reset()
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	require.NoError(c.t, c.cmd.Start())
	// Ready when its OTLP port accepts connections (the builder build has
	// no health extension); a process that died says why.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if conn, err := net.DialTimeout("tcp", c.addr, 100*time.Millisecond); err == nil {
			_ = conn.Close()
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("collector did not listen on %s within 30s:\n%s", c.addr, c.out.String())
		}
		time.Sleep(50 * time.Millisecond) // polling an external process's port
	}
}

func (c *collector) stop() {
	c.t.Helper()
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()
	c.cmd = nil
}

func emit(logger log.Logger, from, to int) {
	tid := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	for i := from; i < to; i++ {
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{0, 0, 0, 0, 0, 0, 0, byte(i + 1)}, TraceFlags: trace.FlagsSampled})
		ctx := trace.ContextWithSpanContext(context.Background(), sc)
		var r log.Record
		r.SetTimestamp(time.Now())
		r.SetSeverity(log.SeverityWarn)
		r.SetSeverityText("WARN")
		r.SetBody(attribute.StringValue(fmt.Sprintf("record %d", i)))
		r.AddAttributes(attribute.Int("seq", i), attribute.String("user_id", "u-1"))
		logger.Emit(ctx, r)
	}
}

type fileLine struct {
	Log struct {
		Message string `json:"message"`
		Level   string `json:"level"`
		Context struct {
			TraceID string `json:"trace_id"`
			SpanID  string `json:"span_id"`
			UserID  string `json:"user_id"`
		} `json:"context"`
		Data map[string]any `json:"data"`
	} `json:"log"`
}

func readFile(t *testing.T, dir string) map[string]fileLine {
	b, err := os.ReadFile(filepath.Join(dir, "fapilog.jsonl"))
	require.NoError(t, err)
	out := map[string]fileLine{}
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var fl fileLine
		require.NoError(t, json.Unmarshal(l, &fl))
		out[fl.Log.Message] = fl
	}
	return out
}

// TestCollectorBesideRotatingFile sends the same records through otlploghttp
// to a real Collector (which forwards them to a loopback receiver) and to
// our rotating file, compares both ends field by field, then takes the
// Collector away and back and shows what each path did with the outage.
func TestCollectorBesideRotatingFile(t *testing.T) {
	bin := os.Getenv("FAPILOG_OTELCOL")
	if bin == "" {
		t.Skip("FAPILOG_OTELCOL is not set: no Collector binary (build one with integration/build-collector.sh)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("FAPILOG_OTELCOL=%s: %v", bin, err)
	}
	recv := &sink{}
	srv := httptest.NewServer(recv)
	defer srv.Close()

	dir := t.TempDir()
	c := newCollector(t, bin, dir, srv.URL)
	c.start()
	defer c.stop()

	files, err := rotatingfile.New(rotatingfile.WithDirectory(filepath.Join(dir, "logs")), rotatingfile.WithFixedName())
	require.NoError(t, err)
	otlp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpoint(c.addr), otlploghttp.WithInsecure(),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}))
	require.NoError(t, err)
	provider := sdklog.NewLoggerProvider(
		sdklog.WithProcessor(sdklog.NewBatchProcessor(files)),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(otlp)),
	)
	defer func() { _ = provider.Shutdown(context.Background()) }()
	logger := provider.Logger("integration")

	const n = 50
	emit(logger, 0, n)
	require.NoError(t, provider.ForceFlush(context.Background()))
	require.Eventually(t, func() bool { return len(recv.bodies()) == n }, 20*time.Second, 10*time.Millisecond,
		"the Collector forwarded %d of %d records", len(recv.bodies()), n)

	inFile := readFile(t, filepath.Join(dir, "logs"))
	require.Len(t, inFile, n)
	got := recv.bodies()
	for i := range n {
		body := fmt.Sprintf("record %d", i)
		fl, lr := inFile[body], got[body]
		require.NotNil(t, lr, body)
		assert.Equal(t, "WARNING", fl.Log.Level)
		assert.EqualValues(t, log.SeverityWarn, lr.SeverityNumber)
		assert.Equal(t, hex.EncodeToString(lr.TraceId), fl.Log.Context.TraceID)
		assert.Equal(t, hex.EncodeToString(lr.SpanId), fl.Log.Context.SpanID)
		assert.Equal(t, "u-1", fl.Log.Context.UserID)
		assert.EqualValues(t, i, fl.Log.Data["seq"])
		attrs := map[string]string{}
		for _, kv := range lr.Attributes {
			attrs[kv.Key] = fmt.Sprint(kv.Value.GetIntValue()) + kv.Value.GetStringValue()
		}
		assert.Equal(t, fmt.Sprint(i), attrs["seq"])
		assert.Equal(t, "0u-1", attrs["user_id"])
	}

	// The Collector goes away; logging goes on.
	c.stop()
	const outage = 20
	emit(logger, n, n+outage)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = provider.ForceFlush(ctx)
	cancel()
	t.Logf("ForceFlush during the outage: %v", err)
	assert.Error(t, err, "the OTLP path reports the outage")
	assert.Len(t, readFile(t, filepath.Join(dir, "logs")), n+outage, "the file path is unaffected")

	// It comes back.
	c.start()
	const after = 10
	emit(logger, n+outage, n+outage+after)
	require.NoError(t, provider.ForceFlush(context.Background()))
	require.Eventually(t, func() bool { _, ok := recv.bodies()[fmt.Sprintf("record %d", n+outage+after-1)]; return ok },
		20*time.Second, 10*time.Millisecond)
	got = recv.bodies()
	lostOTLP := 0
	for i := n; i < n+outage; i++ {
		if _, ok := got[fmt.Sprintf("record %d", i)]; !ok {
			lostOTLP++
		}
	}
	t.Logf("outage of the Collector: file kept %d/%d records; OTLP path delivered %d/%d (the BatchProcessor drops a batch whose Export failed)",
		outage, outage, outage-lostOTLP, outage)
	assert.Len(t, readFile(t, filepath.Join(dir, "logs")), n+outage+after)
}

// TestCollectorReadsOurOTLPJSON posts our OTLP/JSON entries, one per
// request (the webhook exporter sends a lone entry as a bare object), to the
// Collector's OTLP/HTTP receiver, which only accepts a valid
// ExportLogsServiceRequest: what it forwards must match what we sent.
func TestCollectorReadsOurOTLPJSON(t *testing.T) {
	bin := os.Getenv("FAPILOG_OTELCOL")
	if bin == "" {
		t.Skip("FAPILOG_OTELCOL is not set: no Collector binary (build one with integration/build-collector.sh)")
	}
	recv := &sink{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	dir := t.TempDir()
	c := newCollector(t, bin, dir, srv.URL)
	c.start()
	defer c.stop()

	secret, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	exp, err := webhook.New(webhook.WithEndpoint("http://"+c.addr+"/v1/logs"), webhook.WithSecrets(secret),
		webhook.WithDelivery(delivery.Options{Batch: delivery.Batch{MaxEntries: 1}}), webhook.WithExporterOptions(bridge.WithFormat(bridge.FormatOTLPJSON)))
	require.NoError(t, err)
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "otlpjson-check"))),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	const n = 5
	emit(provider.Logger("otlpjson"), 0, n)
	require.NoError(t, provider.ForceFlush(context.Background()), "the Collector accepted every request")
	require.NoError(t, provider.Shutdown(context.Background()))
	require.Eventually(t, func() bool { return len(recv.bodies()) == n }, 20*time.Second, 10*time.Millisecond)
	for i, lr := range recv.bodies() {
		assert.EqualValues(t, log.SeverityWarn, lr.SeverityNumber, i)
		assert.Equal(t, "WARN", lr.SeverityText)
		assert.Len(t, lr.TraceId, 16, "hex trace id decoded by the Collector")
		assert.Equal(t, byte(0x4b), lr.TraceId[0])
		assert.NotZero(t, lr.TimeUnixNano)
	}
}
