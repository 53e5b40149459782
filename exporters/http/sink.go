// Package httpexporter is a sink that POSTs batches of log entries to an
// HTTP endpoint: NDJSON, a JSON array or a wrapped array, each entry in the
// fapilog envelope or OTLP/JSON, optionally gzip or zstd compressed.
//
// Batching, bounded memory, retries (network errors, 408, 429 and 5xx but
// 501, with exponential backoff, full jitter and Retry-After in both its
// forms) and flushing are the shared delivery engine's. Export never waits
// on the network: entries are queued, and a goroutine of the sink's own
// sends them. A successful ForceFlush means every earlier entry was answered
// with a 2xx.
//
// The directory is exporters/http; the package is httpexporter so that it
// does not shadow net/http.
package httpexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/otel"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/internal/delivery"
	"github.com/fapilog/fapilog-otel/internal/httppost"
	"github.com/fapilog/fapilog-otel/internal/sinkopts"
)

// HeaderBatchID names the header that carries a batch's idempotency key:
// unique per batch, the same on every retry of it.
const HeaderBatchID = "X-Fapilog-Batch-Id"

// Sink sends entries in batches. It is safe for concurrent use.
type Sink struct {
	engine *delivery.Engine
	snd    *sender
}

var (
	_ bridge.Sink          = (*Sink)(nil)
	_ bridge.Flusher       = (*Sink)(nil)
	_ bridge.Stopper       = (*Sink)(nil)
	_ bridge.HealthChecker = (*Sink)(nil)
	_ bridge.LossReporter  = (*Sink)(nil)
)

// NewSink returns a sink configured by opts, or an error naming what is
// wrong with the configuration.
func NewSink(opts ...Option) (*Sink, error) {
	c := newConfig(opts)
	if err := sinkopts.RefuseExporterOptions("httpexporter", len(c.exporter)); err != nil {
		return nil, err
	}
	return newSink(c)
}

func newConfig(opts []Option) config {
	c := config{headers: http.Header{}, wrapKey: "logs"}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

func newSink(c config) (*Sink, error) {
	snd, err := newSender(c)
	if err != nil {
		return nil, err
	}
	c.engine.Name = "httpexporter"
	eng, err := delivery.New(c.engine, snd, otel.Handle)
	if err != nil {
		return nil, err
	}
	return &Sink{engine: eng, snd: snd}, nil
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

// Write queues a copy of entry; see WithMaxPendingBytes for what happens at
// the memory bound.
func (s *Sink) Write(ctx context.Context, entry []byte) error { return s.engine.Add(ctx, entry) }

// Flush sends everything queued and returns nil once every batch was
// answered with a 2xx. Otherwise the error says how many entries were not
// delivered; if ctx ends first, they stay queued.
func (s *Sink) Flush(ctx context.Context) error { return s.engine.Flush(ctx) }

// Stop flushes within ctx, then stops sending and closes idle connections
// of the sink's own client. Entries still undelivered when ctx ends are
// counted as lost and reported.
func (s *Sink) Stop(ctx context.Context) error {
	err := s.engine.Close(ctx)
	s.snd.post.Close()
	return err
}

// HealthCheck returns the error of the most recent request, nil if it
// succeeded (or none was made yet).
func (s *Sink) HealthCheck(context.Context) error {
	return s.snd.post.LastErr()
}

// Lost returns how many entries were dropped at the memory bound or given
// up on after retries.
func (s *Sink) Lost() int64 { return s.engine.Lost() }

// PendingBytes returns the bytes waiting to be delivered, never more than
// WithMaxPendingBytes allows.
func (s *Sink) PendingBytes() int { return s.engine.PendingBytes() }

// sender turns a batch into one HTTP request.
type sender struct {
	post    *httppost.Poster
	body    BodyFormat
	wrapKey []byte
	// idPrefix makes batch ids unique across sinks and processes.
	idPrefix string
	comp     Compression
	zenc     *zstd.Encoder
	bufs     sync.Pool
	// gzips recycles gzip writers: a new one allocates and clears about a
	// megabyte of compressor state.
	gzips sync.Pool
}

func newSender(c config) (*sender, error) {
	post, err := httppost.New(httppost.Config{
		Endpoint: c.endpoint, Insecure: c.insecure, Client: c.client, TLS: c.tls,
		Headers: c.headers, Option: "httpexporter: WithEndpoint", HeaderOption: "httpexporter: WithHeader",
	})
	if err != nil {
		return nil, err
	}
	if c.body > Wrapped {
		return nil, fmt.Errorf("httpexporter: WithBodyFormat: unknown format %d", c.body)
	}
	if c.compression > Zstd {
		return nil, fmt.Errorf("httpexporter: WithCompression: unknown compression %d", c.compression)
	}
	var prefix [8]byte
	_, _ = rand.Read(prefix[:])
	s := &sender{post: post, body: c.body, comp: c.compression, idPrefix: hex.EncodeToString(prefix[:]) + "-"}
	s.wrapKey, _ = json.Marshal(c.wrapKey) // a string always marshals
	if c.compression == Zstd {
		if s.zenc, err = zstd.NewWriter(nil); err != nil {
			return nil, fmt.Errorf("httpexporter: zstd: %w", err)
		}
	}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	return s, nil
}

// Send implements delivery.Sender.
func (s *sender) Send(ctx context.Context, id uint64, entries [][]byte) error {
	raw := s.bufs.Get().(*bytes.Buffer)
	defer s.bufs.Put(raw)
	raw.Reset()
	s.layout(raw, entries)
	body := raw.Bytes()
	h := http.Header{"Content-Type": {"application/json"}}
	// The same id on every retry of this batch: delivery is at least
	// once (a 2xx lost on the way back makes us send again), and the
	// receiver can drop a batch it has already stored.
	h.Set(HeaderBatchID, s.idPrefix+strconv.FormatUint(id, 10))
	if s.body == NDJSON {
		h.Set("Content-Type", "application/x-ndjson")
	}
	switch s.comp {
	case Gzip:
		zbuf := s.bufs.Get().(*bytes.Buffer)
		defer s.bufs.Put(zbuf)
		zbuf.Reset()
		zw, _ := s.gzips.Get().(*gzip.Writer)
		if zw == nil {
			zw = gzip.NewWriter(zbuf)
		} else {
			zw.Reset(zbuf)
		}
		_, _ = zw.Write(body)
		_ = zw.Close()
		s.gzips.Put(zw)
		body = zbuf.Bytes()
		h.Set("Content-Encoding", "gzip")
	case Zstd:
		body = s.zenc.EncodeAll(body, nil)
		h.Set("Content-Encoding", "zstd")
	}
	return s.post.Post(ctx, body, h)
}

func (s *sender) layout(buf *bytes.Buffer, entries [][]byte) {
	switch s.body {
	case NDJSON:
		for _, e := range entries {
			buf.Write(e)
			buf.WriteByte('\n')
		}
		return
	case Wrapped:
		buf.WriteByte('{')
		buf.Write(s.wrapKey)
		buf.WriteByte(':')
	}
	buf.WriteByte('[')
	for i, e := range entries {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e)
	}
	buf.WriteByte(']')
	if s.body == Wrapped {
		buf.WriteByte('}')
	}
}
