// Package pipeline builds the provider both ecosystem examples use: our
// processors and exporters beside otlploghttp, and the shutdown helper.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/processor"
)

// Pipeline is a provider and what it writes to.
type Pipeline struct {
	Provider  *sdklog.LoggerProvider
	Dir       string // the rotating files
	collector *httptest.Server
	received  atomic.Int64 // log records the stand-in collector got
}

// New builds: Redact → Enrich → (rotating file, stdout for WARN and up,
// OTLP/HTTP to a Collector). Without OTEL_EXPORTER_OTLP_ENDPOINT it starts a
// stand-in collector on loopback so the example runs anywhere.
func New(ctx context.Context, service string) (*Pipeline, error) {
	p := &Pipeline{}
	dir, err := os.MkdirTemp("", "fapilog-example")
	if err != nil {
		return nil, err
	}
	p.Dir = dir
	files, err := rotatingfile.New(rotatingfile.WithDirectory(dir), rotatingfile.WithFixedName(),
		rotatingfile.WithMaxSize(10<<20), rotatingfile.WithCompression(rotatingfile.CompressionGzip))
	if err != nil {
		return nil, err
	}
	stdout, err := stdoutjson.New()
	if err != nil {
		return nil, err
	}
	otlpOpts := []otlploghttp.Option{}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		p.collector = httptest.NewServer(http.HandlerFunc(p.collect))
		otlpOpts = append(otlpOpts, otlploghttp.WithEndpointURL(p.collector.URL+"/v1/logs"), otlploghttp.WithInsecure())
	}
	otlp, err := otlploghttp.New(ctx, otlpOpts...)
	if err != nil {
		return nil, err
	}
	p.Provider = sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
		sdklog.WithProcessor(processor.NewRedact()),
		sdklog.WithProcessor(processor.NewEnrich(processor.WithAttributes(attribute.String("team", "payments")))),
		sdklog.WithProcessor(processor.NewBatch(files)),
		sdklog.WithProcessor(processor.NewMinSeverity(log.SeverityWarn, processor.NewBatch(stdout))),
		sdklog.WithProcessor(processor.NewBatch(otlp)),
	)
	return p, nil
}

func (p *Pipeline) collect(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req collogs.ExportLogsServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			p.received.Add(int64(len(sl.LogRecords)))
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
}

// Report prints what each destination holds; call it after the provider
// has shut down.
func (p *Pipeline) Report() {
	lines := 0
	if b, err := os.ReadFile(filepath.Join(p.Dir, "fapilog.jsonl")); err == nil {
		for _, c := range b {
			if c == '\n' {
				lines++
			}
		}
	}
	fmt.Fprintf(os.Stderr, "rotating file %s: %d lines\n", filepath.Join(p.Dir, "fapilog.jsonl"), lines)
	if p.collector != nil {
		fmt.Fprintf(os.Stderr, "stand-in collector: %d log records over OTLP/HTTP\n", p.received.Load())
		p.collector.Close()
	}
	_ = os.RemoveAll(p.Dir)
}
