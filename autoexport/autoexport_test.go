package autoexport_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	contrib "go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/autoexport"
	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/webhook"
)

func emit(t *testing.T, exp sdklog.Exporter, msg string) {
	t.Helper()
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	var r log.Record
	r.SetBody(attribute.StringValue(msg))
	provider.Logger("auto").Emit(context.Background(), r)
	require.NoError(t, provider.Shutdown(context.Background()))
}

func TestRotatingfileFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OTEL_LOGS_EXPORTER", autoexport.NameRotatingFile)
	t.Setenv("FAPILOG_FILE_DIRECTORY", dir)
	t.Setenv("FAPILOG_FILE_FIXED_NAME", "true")
	t.Setenv("FAPILOG_FILE_PREFIX", "app")
	t.Setenv("FAPILOG_FILE_COMPRESSION", "gzip")
	t.Setenv("FAPILOG_FILE_SYNC", "1s")
	exp, err := contrib.NewLogExporter(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "rotatingfile", exp.(*bridge.Exporter).Name())
	emit(t, exp, "to a file")
	b, err := os.ReadFile(filepath.Join(dir, "app.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"message":"to a file"`)
}

func TestStdoutjsonFromEnvironment(t *testing.T) {
	t.Setenv("OTEL_LOGS_EXPORTER", autoexport.NameStdoutJSON)
	t.Setenv("FAPILOG_FORMAT", "otlpjson")
	exp, err := contrib.NewLogExporter(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "stdoutjson", exp.(*bridge.Exporter).Name())
	require.NoError(t, exp.Shutdown(context.Background()))
}

func TestHTTPAndWebhookFromEnvironment(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r)
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer srv.Close()

	t.Setenv("OTEL_LOGS_EXPORTER", autoexport.NameHTTP)
	t.Setenv("FAPILOG_HTTP_ENDPOINT", srv.URL)
	t.Setenv("FAPILOG_HTTP_HEADERS", "Authorization=Bearer abc, X-Team=payments")
	t.Setenv("FAPILOG_HTTP_BODY", "array")
	exp, err := contrib.NewLogExporter(context.Background())
	require.NoError(t, err)
	emit(t, exp, "over http")

	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	t.Setenv("OTEL_LOGS_EXPORTER", autoexport.NameWebhook)
	t.Setenv("FAPILOG_WEBHOOK_ENDPOINT", srv.URL)
	t.Setenv("FAPILOG_WEBHOOK_SECRETS", secret)
	exp, err = contrib.NewLogExporter(context.Background())
	require.NoError(t, err)
	emit(t, exp, "as a webhook")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2)
	assert.Equal(t, "Bearer abc", got[0].Header.Get("Authorization"))
	assert.Equal(t, "payments", got[0].Header.Get("X-Team"))
	assert.True(t, strings.HasPrefix(bodies[0], "["), "array body")
	sec, err := webhook.ParseSecret(secret)
	require.NoError(t, err)
	assert.NoError(t, webhook.Verify(got[1].Header, []byte(bodies[1]), []webhook.Secret{sec}))
}

func TestInvalidEnvironmentNamesTheVariable(t *testing.T) {
	t.Setenv("OTEL_LOGS_EXPORTER", autoexport.NameRotatingFile)
	t.Setenv("FAPILOG_FILE_DIRECTORY", "")
	t.Setenv("FAPILOG_FILE_MAX_BYTES", "lots")
	t.Setenv("FAPILOG_FILE_COMPRESSION", "rar")
	_, err := contrib.NewLogExporter(context.Background())
	require.Error(t, err)
	for _, v := range []string{"FAPILOG_FILE_DIRECTORY", "FAPILOG_FILE_MAX_BYTES", "FAPILOG_FILE_COMPRESSION"} {
		assert.Contains(t, err.Error(), v)
	}

	t.Setenv("OTEL_LOGS_EXPORTER", autoexport.NameHTTP)
	t.Setenv("FAPILOG_HTTP_ENDPOINT", "https://example.com")
	t.Setenv("FAPILOG_HTTP_HEADERS", "tokenonly-s3cret")
	_, err = contrib.NewLogExporter(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "FAPILOG_HTTP_HEADERS")
	assert.NotContains(t, err.Error(), "s3cret")
}

// The registered names cannot be taken for another library's: the
// generic ones stay free.
func TestNamesArePrefixed(t *testing.T) {
	for _, name := range []string{autoexport.NameStdoutJSON, autoexport.NameRotatingFile, autoexport.NameHTTP, autoexport.NameWebhook} {
		assert.True(t, strings.HasPrefix(name, "fapilog_"), name)
	}
	t.Setenv("OTEL_LOGS_EXPORTER", "http")
	_, err := contrib.NewLogExporter(context.Background())
	assert.Error(t, err, "the bare name is not ours")
}

// Every network exporter reads delivery.Options from the same variables
// under its own prefix.
func TestDeliverySettingsFromEnvironment(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts++
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	t.Setenv("OTEL_LOGS_EXPORTER", autoexport.NameWebhook)
	t.Setenv("FAPILOG_WEBHOOK_ENDPOINT", srv.URL)
	t.Setenv("FAPILOG_WEBHOOK_SECRETS", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	t.Setenv("FAPILOG_WEBHOOK_RETRY", "false")
	t.Setenv("FAPILOG_WEBHOOK_BATCH_MAX_ENTRIES", "1")
	exp, err := contrib.NewLogExporter(context.Background())
	require.NoError(t, err)
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	for range 3 {
		var r log.Record
		r.SetBody(attribute.StringValue("x"))
		provider.Logger("auto").Emit(context.Background(), r)
	}
	err = provider.Shutdown(context.Background())
	require.Error(t, err, "three 503s, not retried")
	assert.Contains(t, err.Error(), "3 entries lost")
	mu.Lock()
	assert.Equal(t, 3, attempts, "one request per entry (BATCH_MAX_ENTRIES=1), none retried (RETRY=false)")
	mu.Unlock()

	t.Setenv("OTEL_LOGS_EXPORTER", autoexport.NameHTTP)
	t.Setenv("FAPILOG_HTTP_ENDPOINT", srv.URL)
	t.Setenv("FAPILOG_HTTP_OVERFLOW", "spill")
	t.Setenv("FAPILOG_HTTP_REQUEST_TIMEOUT", "soon")
	_, err = contrib.NewLogExporter(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "FAPILOG_HTTP_OVERFLOW")
	assert.Contains(t, err.Error(), "FAPILOG_HTTP_REQUEST_TIMEOUT")
}

func TestSpoolFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	t.Setenv("OTEL_LOGS_EXPORTER", autoexport.NameHTTP)
	t.Setenv("FAPILOG_HTTP_ENDPOINT", srv.URL)
	t.Setenv("FAPILOG_HTTP_SPOOL_DIR", dir)
	t.Setenv("FAPILOG_HTTP_SPOOL_SYNC", "always")
	exp, err := contrib.NewLogExporter(context.Background())
	require.NoError(t, err)
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	assert.Len(t, segs, 1, "the spool is open in the directory")
	emit(t, exp, "spooled")

	t.Setenv("FAPILOG_HTTP_SPOOL_SYNC", "sometimes")
	_, err = contrib.NewLogExporter(context.Background())
	assert.ErrorContains(t, err, "FAPILOG_HTTP_SPOOL_SYNC")
}
