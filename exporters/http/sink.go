// Package httpexporter is a sink that POSTs batches of log entries to an
// HTTP endpoint: NDJSON, a JSON array or a wrapped array, each entry in the
// fapilog envelope or OTLP/JSON, optionally gzip or zstd compressed.
//
// Batching, bounded memory, retries (network errors, 408, 429 and 5xx but
// 501, with exponential backoff, full jitter and Retry-After in both its
// forms) and flushing are package delivery's, configured with
// WithDelivery as for every network exporter. Export never waits
// on the network: entries are queued, and a goroutine of the sink's own
// sends them. A successful ForceFlush means every earlier entry was answered
// with a 2xx. A 410 Gone disables the sink (delivery.ErrGone).
//
// The directory is exporters/http; the package is httpexporter so that it
// does not shadow net/http.
package httpexporter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/sinkopts"
)

// HeaderBatchID names the header that carries a batch's idempotency key:
// unique per batch, the same on every retry of it.
const HeaderBatchID = "X-Fapilog-Batch-Id"

// NewSink returns a bare sink configured by opts (to wrap with
// bridge.NewExporter yourself), or an error naming the option that is
// wrong.
func NewSink(opts ...Option) (*delivery.Sink, error) {
	c := newConfig(opts)
	if err := sinkopts.RefuseExporterOptions("httpexporter", len(c.exporter)); err != nil {
		return nil, err
	}
	return newSink(c)
}

func newConfig(opts []Option) config {
	c := config{wrapKey: "logs"}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

func newSink(c config) (*delivery.Sink, error) {
	req, err := newRequest(c)
	if err != nil {
		return nil, err
	}
	return delivery.NewSink("httpexporter", c.endpoint, req, c.delivery)
}

// New returns an exporter sending through a new sink, named "http" unless
// an exporter option names it otherwise.
func New(opts ...Option) (*bridge.Exporter, error) {
	c := newConfig(opts)
	s, err := newSink(c)
	if err != nil {
		return nil, err
	}
	return bridge.NewExporter(s, append([]bridge.Option{bridge.WithName("http")}, c.exporter...)...)
}

// request lays out one batch as one POST.
type request struct {
	body    BodyFormat
	wrapKey []byte
	comp    Compression
	zenc    *zstd.Encoder
	// raws holds uncompressed bodies on their way to the compressor.
	raws sync.Pool
	// gzips recycles gzip writers: a new one allocates and clears about a
	// megabyte of compressor state.
	gzips sync.Pool
}

func newRequest(c config) (*request, error) {
	if c.body > BodyWrapped {
		return nil, fmt.Errorf("httpexporter: WithBodyFormat: unknown format %d", c.body)
	}
	if c.compression > CompressionZstd {
		return nil, fmt.Errorf("httpexporter: WithCompression: unknown compression %d", c.compression)
	}
	r := &request{body: c.body, comp: c.compression}
	r.wrapKey, _ = json.Marshal(c.wrapKey) // a string always marshals
	if c.compression == CompressionZstd {
		var err error
		if r.zenc, err = zstd.NewWriter(nil); err != nil {
			return nil, fmt.Errorf("httpexporter: zstd: %w", err)
		}
	}
	r.raws.New = func() any { return new([]byte) }
	return r, nil
}

// Encode implements delivery.Request.
func (r *request) Encode(dst []byte, h http.Header, key string, entries [][]byte) ([]byte, error) {
	// The same id on every retry of this batch: delivery is at least
	// once (a 2xx lost on the way back makes us send again), and the
	// receiver can drop a batch it has already stored.
	h.Set(HeaderBatchID, key)
	if r.body == BodyNDJSON {
		h.Set("Content-Type", "application/x-ndjson")
	} else {
		h.Set("Content-Type", "application/json")
	}
	if r.comp == CompressionNone {
		return r.layout(dst, entries), nil
	}
	rp := r.raws.Get().(*[]byte)
	defer r.raws.Put(rp)
	*rp = r.layout((*rp)[:0], entries)
	switch r.comp {
	case CompressionGzip:
		h.Set("Content-Encoding", "gzip")
		out := bytes.NewBuffer(dst)
		zw, _ := r.gzips.Get().(*gzip.Writer)
		if zw == nil {
			zw = gzip.NewWriter(out)
		} else {
			zw.Reset(out)
		}
		_, _ = zw.Write(*rp) // a bytes.Buffer does not fail
		_ = zw.Close()
		r.gzips.Put(zw)
		return out.Bytes(), nil
	default:
		h.Set("Content-Encoding", "zstd")
		return r.zenc.EncodeAll(*rp, dst), nil
	}
}

// Framing implements delivery.Framer: what layout adds to the entries.
func (r *request) Framing() (perEntry, perBatch int) {
	switch r.body {
	case BodyNDJSON:
		return 1, 0 // a newline after each
	case BodyWrapped:
		return 1, len(r.wrapKey) + 4 // a comma each (one spare); {key:[...]}
	}
	return 1, 2 // a comma each (one spare); [...]
}

func (r *request) layout(buf []byte, entries [][]byte) []byte {
	switch r.body {
	case BodyNDJSON:
		for _, e := range entries {
			buf = append(buf, e...)
			buf = append(buf, '\n')
		}
		return buf
	case BodyWrapped:
		buf = append(buf, '{')
		buf = append(buf, r.wrapKey...)
		buf = append(buf, ':')
	}
	buf = append(buf, '[')
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e...)
	}
	buf = append(buf, ']')
	if r.body == BodyWrapped {
		buf = append(buf, '}')
	}
	return buf
}
