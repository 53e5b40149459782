// Package autoexport lets OTEL_LOGS_EXPORTER select fapilog-otel's
// exporters through go.opentelemetry.io/contrib/exporters/autoexport.
// Import it for its side effect:
//
//	import _ "github.com/fapilog/fapilog-otel/autoexport"
//
//	exp, err := autoexport.NewLogExporter(ctx) // contrib's package
//
// and OTEL_LOGS_EXPORTER=stdoutjson, rotatingfile, http or webhook picks
// the matching exporter, configured from the FAPILOG_* variables below. It
// is a module of its own so that the root module does not depend on
// autoexport and, through it, on gRPC.
//
// Every exporter:
//
//	FAPILOG_FORMAT              envelope (default) or otlpjson
//
// stdoutjson:
//
//	FAPILOG_STDOUT_BUFFER_SIZE  bytes per chunk (default 65536)
//
// rotatingfile:
//
//	FAPILOG_FILE_DIRECTORY      required
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
//	FAPILOG_HTTP_HEADERS        key=value,key2=value2 (values are never logged)
//	FAPILOG_HTTP_BODY           ndjson (default), array or wrapped
//	FAPILOG_HTTP_COMPRESSION    none (default), gzip or zstd
//	FAPILOG_HTTP_INSECURE       true to allow plain http off loopback
//
// webhook:
//
//	FAPILOG_WEBHOOK_ENDPOINT    required
//	FAPILOG_WEBHOOK_SECRETS     required; whsec_... (comma-separated to rotate keys)
//	FAPILOG_WEBHOOK_SCHEME      standard (default) or fapilog (secrets then raw)
//	FAPILOG_WEBHOOK_INSECURE    true to allow plain http off loopback
//
// An invalid value makes autoexport.NewLogExporter return an error naming
// the variable.
package autoexport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	contrib "go.opentelemetry.io/contrib/exporters/autoexport"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/http"
	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/exporters/webhook"
)

func init() {
	contrib.RegisterLogExporter("stdoutjson", Stdoutjson)
	contrib.RegisterLogExporter("rotatingfile", Rotatingfile)
	contrib.RegisterLogExporter("http", HTTP)
	contrib.RegisterLogExporter("webhook", Webhook)
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

func (e *env) bool(key string) bool {
	v := e.str(key, "")
	if v == "" {
		return false
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

func (e *env) err(exporter string) error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("fapilog autoexport %s: %w", exporter, errors.Join(e.errs...))
}

// Stdoutjson builds the stdoutjson exporter from the environment.
func Stdoutjson(context.Context) (sdklog.Exporter, error) {
	var e env
	opts := []stdoutjson.Option{stdoutjson.WithFormat(e.format())}
	if n, ok := e.int64("FAPILOG_STDOUT_BUFFER_SIZE"); ok {
		opts = append(opts, stdoutjson.WithBufferSize(int(n)))
	}
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
	opts := []rotatingfile.Option{rotatingfile.WithDirectory(dir), rotatingfile.WithFormat(e.format()),
		rotatingfile.WithPrefix(e.str("FAPILOG_FILE_PREFIX", rotatingfile.DefaultPrefix))}
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
		opts = append(opts, rotatingfile.WithCompression(rotatingfile.Gzip))
	case "zstd":
		opts = append(opts, rotatingfile.WithCompression(rotatingfile.Zstd))
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
	opts := []httpexporter.Option{httpexporter.WithEndpoint(e.str("FAPILOG_HTTP_ENDPOINT", "")), httpexporter.WithFormat(e.format())}
	for _, kv := range strings.Split(e.str("FAPILOG_HTTP_HEADERS", ""), ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			// Say where, not what: header values are secrets.
			e.errs = append(e.errs, errors.New("FAPILOG_HTTP_HEADERS: want key=value pairs separated by commas"))
			continue
		}
		opts = append(opts, httpexporter.WithHeader(strings.TrimSpace(k), strings.TrimSpace(v)))
	}
	switch e.choice("FAPILOG_HTTP_BODY", "ndjson", "ndjson", "array", "wrapped") {
	case "array":
		opts = append(opts, httpexporter.WithBodyFormat(httpexporter.Array))
	case "wrapped":
		opts = append(opts, httpexporter.WithBodyFormat(httpexporter.Wrapped))
	}
	switch e.choice("FAPILOG_HTTP_COMPRESSION", "none", "none", "gzip", "zstd") {
	case "gzip":
		opts = append(opts, httpexporter.WithCompression(httpexporter.Gzip))
	case "zstd":
		opts = append(opts, httpexporter.WithCompression(httpexporter.Zstd))
	}
	if e.bool("FAPILOG_HTTP_INSECURE") {
		opts = append(opts, httpexporter.WithInsecure())
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
	opts := []webhook.Option{webhook.WithEndpoint(e.str("FAPILOG_WEBHOOK_ENDPOINT", "")), webhook.WithFormat(e.format())}
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
		opts = append(opts, webhook.WithScheme(webhook.Fapilog))
	}
	if e.bool("FAPILOG_WEBHOOK_INSECURE") {
		opts = append(opts, webhook.WithInsecure())
	}
	if err := e.err("webhook"); err != nil {
		return nil, err
	}
	return webhook.New(opts...)
}
