package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	httpexporter "github.com/fapilog/fapilog-otel/exporters/http"
	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/exporters/webhook"
	"github.com/fapilog/fapilog-otel/processor"
)

// One record, one id: with processor.RecordUID first, stdout, the file,
// the http exporter, the webhook and otlploghttp all carry the same
// log.record.uid (as the envelope's message_id, or as the attribute).
func TestOneRecordOneIDEverywhere(t *testing.T) {
	var mu sync.Mutex
	ids := map[string]string{}
	messageID := func(line []byte) string {
		var env struct {
			Log struct {
				Context struct {
					MessageID string `json:"message_id"`
				}
			}
		}
		require.NoError(t, json.Unmarshal(bytes.TrimSpace(line), &env), "%s", line)
		return env.Log.Context.MessageID
	}
	post := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/http":
			ids["http"] = messageID(b)
		case "/webhook":
			ids["webhook"] = messageID(b)
		case "/v1/logs":
			var req collogs.ExportLogsServiceRequest
			require.NoError(t, proto.Unmarshal(b, &req))
			for _, kv := range req.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Attributes {
				if kv.Key == string(processor.RecordUIDKey) {
					ids["otlploghttp"] = kv.Value.GetStringValue()
				}
			}
		}
	}))
	defer post.Close()

	var stdout bytes.Buffer
	out, err := stdoutjson.New(stdoutjson.WithWriter(&stdout))
	require.NoError(t, err)
	dir := t.TempDir()
	file, err := rotatingfile.New(rotatingfile.WithDirectory(dir), rotatingfile.WithFixedName())
	require.NoError(t, err)
	hx, err := httpexporter.New(httpexporter.WithEndpoint(post.URL + "/http"))
	require.NoError(t, err)
	secret, _ := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	hook, err := webhook.New(webhook.WithEndpoint(post.URL+"/webhook"), webhook.WithSecrets(secret))
	require.NoError(t, err)
	otlp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(post.URL+"/v1/logs"))
	require.NoError(t, err)

	provider := sdklog.NewLoggerProvider(
		sdklog.WithProcessor(processor.NewRecordUID()),
		sdklog.WithProcessor(processor.NewBatch(out)),
		sdklog.WithProcessor(processor.NewBatch(file)),
		sdklog.WithProcessor(processor.NewBatch(hx)),
		sdklog.WithProcessor(processor.NewBatch(hook)),
		sdklog.WithProcessor(processor.NewBatch(otlp)),
	)
	var r otellog.Record
	r.SetBody(attribute.StringValue("one record"))
	provider.Logger("uid").Emit(context.Background(), r)
	require.NoError(t, provider.ForceFlush(context.Background()))
	require.NoError(t, provider.Shutdown(context.Background()))

	ids["stdout"] = messageID(stdout.Bytes())
	b, err := os.ReadFile(filepath.Join(dir, "fapilog.jsonl"))
	require.NoError(t, err)
	ids["file"] = messageID(b)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, ids, 5, "%v", ids)
	for where, id := range ids {
		assert.Equal(t, ids["otlploghttp"], id, "%s carries a different id", where)
	}
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-7`, ids["stdout"], "a UUIDv7")
}
