// Package autoexport lets OTEL_LOGS_EXPORTER select fapilog-otel's
// exporters through go.opentelemetry.io/contrib/exporters/autoexport.
// Import it for its side effect:
//
//	import _ "github.com/fapilog/fapilog-otel/autoexport"
//
//	exp, err := autoexport.NewLogExporter(ctx) // contrib's package
//
// and OTEL_LOGS_EXPORTER=fapilog_stdoutjson, fapilog_rotatingfile,
// fapilog_http or fapilog_webhook picks the matching exporter, configured
// from the FAPILOG_* variables below. The names carry a fapilog_ prefix
// because contrib's registry is global and first come, first served: a
// bare "http" or "webhook" would collide with other libraries (and with
// contrib's own names, such as otlp and console). It is a module of its own
// so that the root module does not depend on autoexport and, through it,
// on gRPC.
//
// Every exporter:
//
//	FAPILOG_FORMAT              envelope (default) or otlpjson
//
// stdoutjson (the line exporters' delivery.Buffer):
//
//	FAPILOG_STDOUT_BUFFER_SIZE  bytes per buffer (default 65536)
//	FAPILOG_STDOUT_MAX_BUFFERED_BYTES  bytes that may wait for a slow writer (default 4194304)
//
// rotatingfile:
//
//	FAPILOG_FILE_DIRECTORY      required
//	FAPILOG_FILE_BUFFER_SIZE    bytes per buffer (default 262144)
//	FAPILOG_FILE_MAX_BUFFERED_BYTES  as for stdoutjson
//	FAPILOG_FILE_PREFIX         default fapilog
//	FAPILOG_FILE_FIXED_NAME     true: write {prefix}.jsonl, rename on rotation
//	FAPILOG_FILE_MAX_BYTES      rotate at this size (default 104857600)
//	FAPILOG_FILE_INTERVAL       rotate after this long, a Go duration ("24h")
//	FAPILOG_FILE_MAX_FILES      rotated files kept
//	FAPILOG_FILE_MAX_TOTAL_BYTES
//	FAPILOG_FILE_MAX_AGE        a Go duration
//	FAPILOG_FILE_COMPRESSION    none (default), gzip or zstd
//	FAPILOG_FILE_SYNC           flush (default), never, or a Go duration
//
// http:
//
//	FAPILOG_HTTP_ENDPOINT       required
//	FAPILOG_HTTP_BODY           ndjson (default), array or wrapped
//	FAPILOG_HTTP_COMPRESSION    none (default), gzip or zstd
//
// webhook:
//
//	FAPILOG_WEBHOOK_ENDPOINT    required
//	FAPILOG_WEBHOOK_SECRETS     required; whsec_... (comma-separated to rotate keys)
//	FAPILOG_WEBHOOK_SCHEME      standard (default) or fapilog (secrets then raw)
//
// Both network exporters read the fields of delivery.Options, with their
// own prefix P (FAPILOG_HTTP_ or FAPILOG_WEBHOOK_); unset means the
// field's default:
//
//	P+HEADERS                   key=value,key2=value2 (values are never logged)
//	P+INSECURE                  true to allow plain http off loopback
//	P+BATCH_MAX_ENTRIES, P+BATCH_MAX_BYTES, P+BATCH_MAX_AGE
//	P+PENDING_MAX_BYTES
//	P+OVERFLOW                  drop_newest (default), drop_oldest or block
//	P+BLOCK_TIMEOUT
//	P+RETRY                     true (default) or false
//	P+RETRY_INITIAL_INTERVAL, P+RETRY_MAX_INTERVAL, P+RETRY_MAX_ELAPSED_TIME
//	P+CONCURRENCY
//	P+REQUEST_TIMEOUT
//	P+SPOOL_DIR                 a directory: keep entries on disk until delivered (crash-safe)
//	P+SPOOL_MAX_BYTES           default 1073741824
//	P+SPOOL_SYNC                flush (default), interval, always or never
//	P+SPOOL_SYNC_EVERY          with interval; default 100ms
//
// Durations are Go durations ("500ms", "5m").
//
// An invalid value makes autoexport.NewLogExporter return an error naming
// the variable.
package autoexport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	contrib "go.opentelemetry.io/contrib/exporters/autoexport"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/exporters/http"
	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/exporters/webhook"
)

// The names registered for OTEL_LOGS_EXPORTER.
const (
	NameStdoutJSON   = "fapilog_stdoutjson"
	NameRotatingFile = "fapilog_rotatingfile"
	NameHTTP         = "fapilog_http"
	NameWebhook      = "fapilog_webhook"
)

func init() {
	contrib.RegisterLogExporter(NameStdoutJSON, Stdoutjson)
	contrib.RegisterLogExporter(NameRotatingFile, Rotatingfile)
	contrib.RegisterLogExporter(NameHTTP, HTTP)
	contrib.RegisterLogExporter(NameWebhook, Webhook)
}

// env reads variables and collects every problem, so one error lists them
// all.
type env struct{ errs []error }

func (e *env) str(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func (e *env) bad(key, v, want string) {
	e.errs = append(e.errs, fmt.Errorf("%s=%q: want %s", key, v, want))
}

func (e *env) int64(key string) (int64, bool) {
	v := e.str(key, "")
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		e.bad(key, v, "a non-negative integer")
		return 0, false
	}
	return n, true
}

func (e *env) duration(key string) (time.Duration, bool) {
	v := e.str(key, "")
	if v == "" {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		e.bad(key, v, "a Go duration such as 24h")
		return 0, false
	}
	return d, true
}

func (e *env) int(key string) int {
	n, _ := e.int64(key)
	return int(n)
}

func (e *env) dur(key string) time.Duration {
	d, _ := e.duration(key)
	return d
}

func (e *env) bool(key string) bool { return e.boolDefault(key, false) }

func (e *env) boolDefault(key string, def bool) bool {
	v := e.str(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.bad(key, v, "true or false")
	}
	return b
}

func (e *env) choice(key string, def string, choices ...string) string {
	v := strings.ToLower(e.str(key, def))
	for _, c := range choices {
		if v == c {
			return v
		}
	}
	e.bad(key, v, strings.Join(choices, ", ")+" or unset")
	return def
}

func (e *env) format() bridge.Format {
	if e.choice("FAPILOG_FORMAT", "envelope", "envelope", "otlpjson") == "otlpjson" {
		return bridge.FormatOTLPJSON
	}
	return bridge.FormatEnvelope
}

// buffer reads a delivery.Buffer under prefix.
func (e *env) buffer(prefix string) delivery.Buffer {
	return delivery.Buffer{Size: e.int(prefix + "BUFFER_SIZE"), MaxBytes: e.int(prefix + "MAX_BUFFERED_BYTES")}
}

// delivery reads delivery.Options under prefix, the same way for every
// network exporter.
func (e *env) delivery(prefix string) delivery.Options {
	o := delivery.Options{
		Batch: delivery.Batch{
			MaxEntries: e.int(prefix + "BATCH_MAX_ENTRIES"),
			MaxBytes:   e.int(prefix + "BATCH_MAX_BYTES"),
			MaxAge:     e.dur(prefix + "BATCH_MAX_AGE"),
		},
		Pending: delivery.Pending{
			MaxBytes:     e.int(prefix + "PENDING_MAX_BYTES"),
			BlockTimeout: e.dur(prefix + "BLOCK_TIMEOUT"),
		},
		Retry: delivery.Retry{
			Disabled:        !e.boolDefault(prefix+"RETRY", true),
			InitialInterval: e.dur(prefix + "RETRY_INITIAL_INTERVAL"),
			MaxInterval:     e.dur(prefix + "RETRY_MAX_INTERVAL"),
			MaxElapsedTime:  e.dur(prefix + "RETRY_MAX_ELAPSED_TIME"),
		},
		Concurrency:    e.int(prefix + "CONCURRENCY"),
		RequestTimeout: e.dur(prefix + "REQUEST_TIMEOUT"),
		AllowInsecure:  e.bool(prefix + "INSECURE"),
		Spool: delivery.Spool{
			Dir:       e.str(prefix+"SPOOL_DIR", ""),
			SyncEvery: e.dur(prefix + "SPOOL_SYNC_EVERY"),
		},
	}
	if n, ok := e.int64(prefix + "SPOOL_MAX_BYTES"); ok {
		o.Spool.MaxBytes = n
	}
	switch e.choice(prefix+"SPOOL_SYNC", "flush", "flush", "interval", "always", "never") {
	case "interval":
		o.Spool.Sync = delivery.SpoolSyncInterval
	case "always":
		o.Spool.Sync = delivery.SpoolSyncAlways
	case "never":
		o.Spool.Sync = delivery.SpoolSyncNever
	}
	switch e.choice(prefix+"OVERFLOW", "drop_newest", "drop_newest", "drop_oldest", "block") {
	case "drop_oldest":
		o.Pending.Overflow = delivery.OverflowDropOldest
	case "block":
		o.Pending.Overflow = delivery.OverflowBlock
	}
	for _, kv := range strings.Split(e.str(prefix+"HEADERS", ""), ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			// Say where, not what: header values are secrets.
			e.errs = append(e.errs, errors.New(prefix+"HEADERS: want key=value pairs separated by commas"))
			continue
		}
		if o.Headers == nil {
			o.Headers = http.Header{}
		}
		o.Headers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return o
}

func (e *env) err(exporter string) error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("fapilog autoexport %s: %w", exporter, errors.Join(e.errs...))
}

// Stdoutjson builds the stdoutjson exporter from the environment.
func Stdoutjson(context.Context) (sdklog.Exporter, error) {
	var e env
	opts := []stdoutjson.Option{stdoutjson.WithExporterOptions(bridge.WithFormat(e.format())),
		stdoutjson.WithBuffer(e.buffer("FAPILOG_STDOUT_"))}
	if err := e.err("stdoutjson"); err != nil {
		return nil, err
	}
	return stdoutjson.New(opts...)
}

// Rotatingfile builds the rotatingfile exporter from the environment.
func Rotatingfile(context.Context) (sdklog.Exporter, error) {
	var e env
	dir := e.str("FAPILOG_FILE_DIRECTORY", "")
	if dir == "" {
		e.errs = append(e.errs, errors.New("FAPILOG_FILE_DIRECTORY is required"))
	}
	opts := []rotatingfile.Option{rotatingfile.WithDirectory(dir), rotatingfile.WithExporterOptions(bridge.WithFormat(e.format())),
		rotatingfile.WithPrefix(e.str("FAPILOG_FILE_PREFIX", rotatingfile.DefaultPrefix)),
		rotatingfile.WithBuffer(e.buffer("FAPILOG_FILE_"))}
	if e.bool("FAPILOG_FILE_FIXED_NAME") {
		opts = append(opts, rotatingfile.WithFixedName())
	}
	if n, ok := e.int64("FAPILOG_FILE_MAX_BYTES"); ok {
		opts = append(opts, rotatingfile.WithMaxSize(n))
	}
	if d, ok := e.duration("FAPILOG_FILE_INTERVAL"); ok {
		opts = append(opts, rotatingfile.WithInterval(d))
	}
	if n, ok := e.int64("FAPILOG_FILE_MAX_FILES"); ok {
		opts = append(opts, rotatingfile.WithMaxFiles(int(n)))
	}
	if n, ok := e.int64("FAPILOG_FILE_MAX_TOTAL_BYTES"); ok {
		opts = append(opts, rotatingfile.WithMaxTotalBytes(n))
	}
	if d, ok := e.duration("FAPILOG_FILE_MAX_AGE"); ok {
		opts = append(opts, rotatingfile.WithMaxAge(d))
	}
	switch e.choice("FAPILOG_FILE_COMPRESSION", "none", "none", "gzip", "zstd") {
	case "gzip":
		opts = append(opts, rotatingfile.WithCompression(rotatingfile.CompressionGzip))
	case "zstd":
		opts = append(opts, rotatingfile.WithCompression(rotatingfile.CompressionZstd))
	}
	switch v := e.str("FAPILOG_FILE_SYNC", "flush"); v {
	case "flush":
	case "never":
		opts = append(opts, rotatingfile.WithSync(rotatingfile.SyncNever))
	default:
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			opts = append(opts, rotatingfile.WithSync(rotatingfile.SyncEvery(d)))
		} else {
			e.bad("FAPILOG_FILE_SYNC", v, "flush, never or a Go duration")
		}
	}
	if err := e.err("rotatingfile"); err != nil {
		return nil, err
	}
	return rotatingfile.New(opts...)
}

// HTTP builds the http exporter from the environment.
func HTTP(context.Context) (sdklog.Exporter, error) {
	var e env
	opts := []httpexporter.Option{httpexporter.WithEndpoint(e.str("FAPILOG_HTTP_ENDPOINT", "")),
		httpexporter.WithExporterOptions(bridge.WithFormat(e.format())),
		httpexporter.WithDelivery(e.delivery("FAPILOG_HTTP_"))}
	switch e.choice("FAPILOG_HTTP_BODY", "ndjson", "ndjson", "array", "wrapped") {
	case "array":
		opts = append(opts, httpexporter.WithBodyFormat(httpexporter.BodyArray))
	case "wrapped":
		opts = append(opts, httpexporter.WithBodyFormat(httpexporter.BodyWrapped))
	}
	switch e.choice("FAPILOG_HTTP_COMPRESSION", "none", "none", "gzip", "zstd") {
	case "gzip":
		opts = append(opts, httpexporter.WithCompression(httpexporter.CompressionGzip))
	case "zstd":
		opts = append(opts, httpexporter.WithCompression(httpexporter.CompressionZstd))
	}
	if err := e.err("http"); err != nil {
		return nil, err
	}
	return httpexporter.New(opts...)
}

// Webhook builds the webhook exporter from the environment.
func Webhook(context.Context) (sdklog.Exporter, error) {
	var e env
	scheme := e.choice("FAPILOG_WEBHOOK_SCHEME", "standard", "standard", "fapilog")
	opts := []webhook.Option{webhook.WithEndpoint(e.str("FAPILOG_WEBHOOK_ENDPOINT", "")),
		webhook.WithExporterOptions(bridge.WithFormat(e.format())),
		webhook.WithDelivery(e.delivery("FAPILOG_WEBHOOK_"))}
	for _, s := range strings.Split(e.str("FAPILOG_WEBHOOK_SECRETS", ""), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if scheme == "fapilog" {
			opts = append(opts, webhook.WithSecrets(webhook.RawSecret([]byte(s))))
			continue
		}
		sec, err := webhook.ParseSecret(s)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("FAPILOG_WEBHOOK_SECRETS: %w", err))
			continue
		}
		opts = append(opts, webhook.WithSecrets(sec))
	}
	if scheme == "fapilog" {
		opts = append(opts, webhook.WithScheme(webhook.SchemeFapilog))
	}
	if err := e.err("webhook"); err != nil {
		return nil, err
	}
	return webhook.New(opts...)
}
