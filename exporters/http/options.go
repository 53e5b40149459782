package httpexporter

import (
	"crypto/tls"
	"net/http"
	"time"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/internal/delivery"
)

// BodyFormat is how a batch of entries becomes a request body.
type BodyFormat uint8

const (
	// NDJSON sends one entry per line, application/x-ndjson. The default.
	NDJSON BodyFormat = iota
	// Array sends a JSON array of entries, application/json.
	Array
	// Wrapped sends {"<key>":[entries]}, application/json; the key is
	// "logs" unless WithWrapKey says otherwise.
	Wrapped
)

// Compression of request bodies.
type Compression uint8

const (
	// NoCompression sends bodies as they are.
	NoCompression Compression = iota
	// Gzip sends Content-Encoding: gzip.
	Gzip
	// Zstd sends Content-Encoding: zstd.
	Zstd
)

// Overflow is what happens to a new entry when the pending-bytes bound is
// reached; see WithMaxPendingBytes.
type Overflow = delivery.Overflow

// Overflow policies.
const (
	DropNewest = delivery.DropNewest
	DropOldest = delivery.DropOldest
	Block      = delivery.Block
)

// Option configures the sink and, through New, its exporter.
type Option interface {
	apply(*config)
}

type config struct {
	endpoint    string
	insecure    bool
	headers     http.Header
	client      *http.Client
	tls         *tls.Config
	body        BodyFormat
	wrapKey     string
	compression Compression
	engine      delivery.Config
	exporter    []bridge.Option
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEndpoint sets the URL batches are POSTed to. Required. It must be
// https unless the host is a loopback address or WithInsecure is given.
func WithEndpoint(url string) Option { return optionFunc(func(c *config) { c.endpoint = url }) }

// WithInsecure allows a plain-http endpoint that is not on loopback.
func WithInsecure() Option { return optionFunc(func(c *config) { c.insecure = true }) }

// WithHeader adds a header to every request (an API key, say). Header values
// never appear in errors.
func WithHeader(key, value string) Option {
	return optionFunc(func(c *config) { c.headers.Add(key, value) })
}

// WithHTTPClient sends through client instead of one of the sink's own
// (nil, the default, means the sink's own). The sink then leaves the
// client's connections alone on Stop, and never follows redirects, whatever
// the client's CheckRedirect says.
func WithHTTPClient(client *http.Client) Option {
	return optionFunc(func(c *config) { c.client = client })
}

// WithTLSConfig sets the TLS configuration of the sink's own client (nil,
// the default, means Go's). It is ignored with WithHTTPClient.
func WithTLSConfig(cfg *tls.Config) Option { return optionFunc(func(c *config) { c.tls = cfg }) }

// WithBodyFormat sets how batches are laid out. The default is NDJSON.
func WithBodyFormat(f BodyFormat) Option { return optionFunc(func(c *config) { c.body = f }) }

// WithWrapKey sets the key of the Wrapped format. The default is "logs";
// "" keeps it.
func WithWrapKey(key string) Option {
	return optionFunc(func(c *config) {
		if key != "" {
			c.wrapKey = key
		}
	})
}

// WithCompression compresses request bodies. The default is
// NoCompression.
func WithCompression(comp Compression) Option {
	return optionFunc(func(c *config) { c.compression = comp })
}

// WithBatching sets the batch limits: a batch is sent when it holds entries
// entries, or bytes uncompressed bytes, or its first entry is age old,
// whichever comes first. Defaults: 512 entries, 1 MiB, 1s; a zero keeps
// that part's default, a negative one is an error.
func WithBatching(entries, bytes int, age time.Duration) Option {
	return optionFunc(func(c *config) {
		c.engine.MaxBatchEntries, c.engine.MaxBatchBytes, c.engine.MaxBatchAge = entries, bytes, age
	})
}

// WithMaxPendingBytes bounds the memory held for entries not yet delivered
// (default 16 MiB; 0 keeps it) and sets what happens at the bound:
// DropNewest (the default), DropOldest, or Block, which waits up to
// blockTimeout for room (default 1s; 0 keeps it).
// Every dropped entry is counted and reported.
func WithMaxPendingBytes(n int, policy Overflow, blockTimeout time.Duration) Option {
	return optionFunc(func(c *config) {
		c.engine.MaxPendingBytes, c.engine.Overflow, c.engine.BlockTimeout = n, policy, blockTimeout
	})
}

// WithRetry sets the backoff (exponential with full jitter between initial
// and max) and the total time a batch may spend being retried. Defaults:
// 500ms, 30s, 5m; a zero keeps that part's default, a negative one is an
// error.
func WithRetry(initial, max, budget time.Duration) Option {
	return optionFunc(func(c *config) {
		c.engine.InitialBackoff, c.engine.MaxBackoff, c.engine.RetryBudget = initial, max, budget
	})
}

// WithRetryableStatuses replaces the statuses that are retried (by default
// 408, 429 and 5xx except 501). With no statuses, no status is retried.
// Network errors are always retried.
func WithRetryableStatuses(statuses ...int) Option {
	return optionFunc(func(c *config) {
		set := map[int]bool{}
		for _, s := range statuses {
			set[s] = true
		}
		c.engine.Retryable = func(status int) bool { return set[status] }
	})
}

// WithRequestTimeout bounds each attempt. The default is 30s; 0 keeps it,
// negative is an error.
func WithRequestTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.engine.RequestTimeout = d })
}

// WithConcurrency sets how many requests may be in flight. The default, 1,
// keeps batches in order; 0 keeps it, negative is an error.
func WithConcurrency(n int) Option { return optionFunc(func(c *config) { c.engine.Concurrency = n }) }

// WithFormat sets the encoding of each entry in an exporter made by New:
// the fapilog envelope (default) or OTLP/JSON.
func WithFormat(f bridge.Format) Option { return WithExporterOptions(bridge.WithFormat(f)) }

// WithExporterOptions passes options to the bridge exporter New creates.
func WithExporterOptions(opts ...bridge.Option) Option {
	return optionFunc(func(c *config) { c.exporter = append(c.exporter, opts...) })
}
