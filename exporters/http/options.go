package httpexporter

import (
	"fmt"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
)

// BodyFormat is how a batch of entries becomes a request body.
type BodyFormat uint8

const (
	// BodyNDJSON sends one entry per line, application/x-ndjson. The
	// default.
	BodyNDJSON BodyFormat = iota
	// BodyArray sends a JSON array of entries, application/json.
	BodyArray
	// BodyWrapped sends {"<key>":[entries]}, application/json; the key is
	// "logs" unless WithWrapKey says otherwise.
	BodyWrapped
)

// String returns the format's name as FAPILOG_* settings spell it.
func (f BodyFormat) String() string {
	switch f {
	case BodyNDJSON:
		return "ndjson"
	case BodyArray:
		return "array"
	case BodyWrapped:
		return "wrapped"
	}
	return fmt.Sprintf("BodyFormat(%d)", uint8(f))
}

// Compression of request bodies.
type Compression uint8

const (
	// CompressionNone sends bodies as they are. The default.
	CompressionNone Compression = iota
	// CompressionGzip sends Content-Encoding: gzip.
	CompressionGzip
	// CompressionZstd sends Content-Encoding: zstd.
	CompressionZstd
)

// String returns the compression's name as FAPILOG_* settings spell it.
func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionGzip:
		return "gzip"
	case CompressionZstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", uint8(c))
}

// Option configures the sink and, through New, its exporter.
type Option interface {
	apply(*config)
}

type config struct {
	endpoint    string
	delivery    delivery.Options
	body        BodyFormat
	wrapKey     string
	compression Compression
	exporter    []bridge.Option
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEndpoint sets the URL batches are POSTed to. Required. It must be
// https unless the host is a loopback address or
// delivery.Options.AllowInsecure is set.
func WithEndpoint(url string) Option { return optionFunc(func(c *config) { c.endpoint = url }) }

// WithDelivery sets batching, the pending-memory bound, retries,
// concurrency, timeouts, headers and the client: the settings every network
// exporter shares. The zero value of each field keeps its default; a later
// WithDelivery replaces an earlier one.
func WithDelivery(o delivery.Options) Option {
	return optionFunc(func(c *config) { c.delivery = o })
}

// WithBodyFormat sets how batches are laid out. The default is BodyNDJSON.
func WithBodyFormat(f BodyFormat) Option { return optionFunc(func(c *config) { c.body = f }) }

// WithWrapKey sets the key of BodyWrapped. The default is "logs"; "" keeps
// it.
func WithWrapKey(key string) Option {
	return optionFunc(func(c *config) {
		if key != "" {
			c.wrapKey = key
		}
	})
}

// WithCompression compresses request bodies. The default is
// CompressionNone.
func WithCompression(comp Compression) Option {
	return optionFunc(func(c *config) { c.compression = comp })
}

// WithExporterOptions passes options (the entry format, metrics, a name)
// to the bridge exporter New creates. NewSink refuses them.
func WithExporterOptions(opts ...bridge.Option) Option {
	return optionFunc(func(c *config) { c.exporter = append(c.exporter, opts...) })
}
