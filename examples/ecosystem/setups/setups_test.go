package setups_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	httpexporter "github.com/fapilog/fapilog-otel/exporters/http"
	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/exporters/webhook"
	"github.com/fapilog/fapilog-otel/processor"
	"github.com/fapilog/fapilog-otel/shutdown"
)

// printLines prints the level and message of each envelope line in b.
func printLines(b []byte) {
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var env struct {
			Log struct{ Level, Message string }
		}
		if err := json.Unmarshal(line, &env); err != nil {
			fmt.Println("not JSON:", err)
			continue
		}
		fmt.Println(env.Log.Level, env.Log.Message)
	}
}

// Local development: JSON lines on stdout, each record exported as it is
// logged (sdklog.NewSimpleProcessor), so what you log is what you see. The
// example writes to a buffer instead of os.Stdout only so its output can
// be checked.
func Example_localDevelopment() {
	var out bytes.Buffer
	exp, err := stdoutjson.New(stdoutjson.WithWriter(&out)) // default: os.Stdout
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	logger := slog.New(otelslog.NewHandler("dev", otelslog.WithLoggerProvider(provider)))

	logger.Debug("cache warmed", "entries", 120)
	logger.Warn("slow query", "ms", 840)

	_ = provider.Shutdown(context.Background()) // flushes, then stops
	printLines(out.Bytes())
	// Output:
	// DEBUG cache warmed
	// WARNING slow query
}

// Kubernetes with a node log agent (Fluent Bit, Vector, the Collector's
// filelog receiver): JSON lines on stdout, which the container runtime
// writes to the node, behind processor.NewBatch with a short export
// interval; shutdown.NotifyContext
// flushes on SIGTERM, within the pod's grace period, before the process
// exits. Agents that read a hostPath instead get rotatingfile with
// WithFixedName, the one path they tail.
func Example_kubernetes() {
	var out bytes.Buffer
	exp, err := stdoutjson.New(stdoutjson.WithWriter(&out)) // default: os.Stdout
	if err != nil {
		fmt.Println(err)
		return
	}
	// An OOM kill (SIGKILL) runs no handler: with a 10 ms export interval
	// it loses the last few milliseconds of logs, where the default 1 s
	// would lose up to a second of them (docs/spool.md).
	batch := processor.NewBatch(exp, processor.WithExportInterval(10*time.Millisecond))
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(batch))
	ctx, stop := shutdown.NotifyContext(context.Background(), provider, shutdown.WithTimeout(20*time.Second))
	defer stop()

	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider)))
	logger.InfoContext(ctx, "order placed", "order_id", 42)

	// The end of main, or what runs once ctx is cancelled by SIGTERM.
	if err := shutdown.FlushAndShutdown(context.Background(), provider); err != nil {
		fmt.Println(err)
	}
	printLines(out.Bytes())
	// Output: INFO order placed
}

// Files for an agent that tails one path: rotatingfile with a fixed name,
// rotated by size, old files compressed and capped.
func Example_kubernetesHostPath() {
	dir, _ := os.MkdirTemp("", "setups")
	defer os.RemoveAll(dir)
	exp, err := rotatingfile.New(
		rotatingfile.WithDirectory(dir), // a hostPath or emptyDir the agent reads
		rotatingfile.WithFixedName(),    // the agent tails fapilog.jsonl
		rotatingfile.WithMaxSize(100<<20),
		rotatingfile.WithMaxFiles(5),
		rotatingfile.WithCompression(rotatingfile.CompressionGzip),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	batch := processor.NewBatch(exp, processor.WithExportInterval(10*time.Millisecond)) // as above
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(batch))
	slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider))).Error("payment failed")
	_ = shutdown.FlushAndShutdown(context.Background(), provider)

	b, _ := os.ReadFile(dir + "/fapilog.jsonl")
	printLines(b)
	// Output: ERROR payment failed
}

// High volume: the provider skips its per-record de-duplication map
// (WithAllowKeyDuplication) and processor.NewDedup, registered first, does
// the same job more cheaply, so every processor and exporter after it
// still sees unique keys: the repeated "region" below is written once,
// with its last value, as the SDK's default would.
func Example_highVolume() {
	var out bytes.Buffer
	exp, err := stdoutjson.New(stdoutjson.WithWriter(&out)) // default: os.Stdout
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := sdklog.NewLoggerProvider(
		sdklog.WithAllowKeyDuplication(),
		sdklog.WithProcessor(processor.NewDedup()),
		sdklog.WithProcessor(processor.NewBatch(exp)),
	)
	logger := slog.New(otelslog.NewHandler("ingest", otelslog.WithLoggerProvider(provider)))
	logger.Info("batch stored", "region", "eu-west-1", "rows", 5000, "region", "eu-central-1")
	_ = shutdown.FlushAndShutdown(context.Background(), provider)

	var env struct {
		Log struct {
			Message string
			Data    map[string]any
		}
	}
	if err := json.Unmarshal(out.Bytes(), &env); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(env.Log.Message, env.Log.Data["region"], env.Log.Data["rows"], len(env.Log.Data))
	// Output: batch stored eu-central-1 5000 2
}

// Straight to a Collector: otlploghttp behind processor.NewBatch, which
// keeps and retries what a Collector restart refused instead of dropping
// it. The stand-in Collector decodes OTLP protobuf.
func Example_collector() {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req collogs.ExportLogsServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			fmt.Println(err)
			return
		}
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					fmt.Println("collector got:", lr.Body.GetStringValue())
				}
			}
		}
	}))
	defer collector.Close()

	exp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(collector.URL+"/v1/logs"))
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(processor.NewBatch(exp)))
	slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider))).Info("order placed")
	if err := shutdown.FlushAndShutdown(context.Background(), provider); err != nil {
		fmt.Println(err)
	}
	// Output: collector got: order placed
}

// A SaaS HTTP endpoint: the http exporter with the vendor's API key, gzip,
// and the body layout the vendor documents; delivery.Options holds the
// network settings every network exporter shares. ForceFlush returning nil
// means the vendor answered 2xx for every earlier record.
func Example_saasEndpoint() {
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, _ := gzip.NewReader(r.Body)
		b, _ := io.ReadAll(zr)
		var body struct{ Logs []json.RawMessage }
		_ = json.Unmarshal(b, &body)
		fmt.Println(r.Header.Get("Authorization") != "", len(body.Logs), "entries")
	}))
	defer vendor.Close()

	exp, err := httpexporter.New(
		httpexporter.WithEndpoint(vendor.URL+"/v1/ingest"), // https off loopback
		httpexporter.WithDelivery(delivery.Options{
			Headers: http.Header{"Authorization": {"Bearer " + "api-key"}},
			Pending: delivery.Pending{MaxBytes: 64 << 20}, // ride out a longer outage
		}),
		httpexporter.WithBodyFormat(httpexporter.BodyWrapped), // {"logs":[...]}
		httpexporter.WithCompression(httpexporter.CompressionGzip),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(processor.NewBatch(exp)))
	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider)))
	logger.Info("order placed")
	logger.Info("order shipped")
	if err := provider.ForceFlush(context.Background()); err != nil {
		fmt.Println(err)
	}
	_ = provider.Shutdown(context.Background())
	// Output: true 2 entries
}

// Signed events to a partner: only ERROR and above, as Standard Webhooks,
// flushed as soon as one is logged (FlushOnSeverity); the partner verifies
// with webhook.Verify (or any Standard Webhooks library).
func Example_partnerWebhook() {
	secret, _ := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		err := webhook.Verify(r.Header, b, []webhook.Secret{secret})
		fmt.Println("verified:", err == nil)
	}))
	defer partner.Close()

	hook, err := webhook.New(
		webhook.WithEndpoint(partner.URL+"/events"),
		webhook.WithSecrets(secret),
		webhook.WithExporterOptions(bridge.WithFormat(bridge.FormatEnvelope)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(
		processor.NewFlushOnSeverity(processor.NewMinSeverity(log.SeverityError, processor.NewBatch(hook)))))
	logger := slog.New(otelslog.NewHandler("payments", otelslog.WithLoggerProvider(provider)))
	logger.Info("not sent: below ERROR")
	logger.Error("charge failed", "order_id", 42)
	_ = shutdown.FlushAndShutdown(context.Background(), provider)
	// Output: verified: true
}
