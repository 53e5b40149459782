package bridge

import (
	"fmt"

	"go.opentelemetry.io/otel/metric"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// Format selects how records are encoded before they reach the sink.
type Format uint8

const (
	// FormatEnvelope is fapilog's log envelope v1.1, the default: one JSON
	// object per entry, the same lines Python fapilog writes.
	FormatEnvelope Format = iota
	// FormatOTLPJSON is one OTLP/JSON ExportLogsServiceRequest per entry, as
	// read by the Collector's otlpjsonfile receiver.
	FormatOTLPJSON
)

// String returns the format's name as FAPILOG_* settings spell it
// ("envelope", "otlpjson").
func (f Format) String() string {
	if f > FormatOTLPJSON {
		return fmt.Sprintf("Format(%d)", uint8(f))
	}
	return f.encoding().String()
}

func (f Format) encoding() encoding.Format {
	if f == FormatOTLPJSON {
		return encoding.OTLPJSON
	}
	return encoding.Envelope
}

// Option configures an Exporter.
type Option interface {
	apply(*config)
}

type config struct {
	maxEntry      int
	lines         bool
	format        Format
	name          string
	meterProvider metric.MeterProvider
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithFormat sets the encoding of the entries handed to the sink. The default
// is FormatEnvelope.
func WithFormat(f Format) Option {
	return optionFunc(func(c *config) { c.format = f })
}

// WithName names the sink in errors and in the otel.component.name metric
// attribute. The default (and "") is the sink's Go type, such as
// "*stdoutjson.Sink"; New in each exporter package names its sink after the
// package.
func WithName(name string) Option {
	return optionFunc(func(c *config) { c.name = name })
}

// WithMeterProvider sets where the exporter's metrics go. The default (and
// nil) is the global MeterProvider, which discards them until one is
// installed.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}

// minEntryBytes leaves room for a record's fixed fields and the truncation
// marks.
const minEntryBytes = 4 << 10

// WithMaxEntryBytes bounds each entry, newline included (default
// DefaultMaxEntryBytes, 1 MiB; 0 keeps it; below 4 KiB is an error). A
// record that encodes larger is not split or dropped: its string values
// are cut (and, if that is not enough, its last attributes left out) until
// it fits, and it carries fapilog.truncated=true and
// fapilog.original_bytes. Each cut is counted (Exporter.Truncated, metric
// fapilog.sink.entries.truncated).
func WithMaxEntryBytes(n int) Option {
	return optionFunc(func(c *config) {
		if n != 0 {
			c.maxEntry = n
		}
	})
}

// WithOTLPBatchLines makes each entry one OTLP/JSON ExportLogsServiceRequest
// holding every record of an Export that fits (grouped by resource and
// scope, as the Collector's file exporter writes), instead of one record
// per entry: fewer, longer lines, each under WithMaxEntryBytes. It needs
// WithFormat(FormatOTLPJSON). A failed write of such an entry fails all of
// its records. The default is one record per entry.
func WithOTLPBatchLines() Option {
	return optionFunc(func(c *config) { c.lines = true })
}
