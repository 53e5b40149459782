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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/otel"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/internal/delivery"
)

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
	return newSink(newConfig(opts))
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
	eng, err := delivery.New(c.engine, snd, otel.Handle)
	if err != nil {
		return nil, fmt.Errorf("httpexporter: %w", err)
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
func (s *Sink) Write(ctx context.Context, entry []byte) error {
	if err := s.engine.Add(ctx, entry); err != nil {
		return fmt.Errorf("httpexporter: %w", err)
	}
	return nil
}

// Flush sends everything queued and returns nil once every batch was
// answered with a 2xx. Otherwise the error says how many entries were not
// delivered; if ctx ends first, they stay queued.
func (s *Sink) Flush(ctx context.Context) error {
	if err := s.engine.Flush(ctx); err != nil {
		return fmt.Errorf("httpexporter: %w", err)
	}
	return nil
}

// Stop flushes within ctx, then stops sending and closes idle connections
// of the sink's own client. Entries still undelivered when ctx ends are
// counted as lost and reported.
func (s *Sink) Stop(ctx context.Context) error {
	err := s.engine.Close(ctx)
	if s.snd.ownClient {
		s.snd.client.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("httpexporter: stop: %w", err)
	}
	return nil
}

// HealthCheck returns the error of the most recent request, nil if it
// succeeded (or none was made yet).
func (s *Sink) HealthCheck(context.Context) error {
	s.snd.mu.Lock()
	defer s.snd.mu.Unlock()
	return s.snd.lastErr
}

// Lost returns how many entries were dropped at the memory bound or given
// up on after retries.
func (s *Sink) Lost() int64 { return s.engine.Lost() }

// sender turns a batch into one HTTP request.
type sender struct {
	endpoint  string // full URL, used for requests
	redacted  string // scheme://host/path, used in errors
	headers   http.Header
	client    *http.Client
	ownClient bool
	body      BodyFormat
	wrapKey   []byte
	comp      Compression
	zenc      *zstd.Encoder
	bufs      sync.Pool

	mu      sync.Mutex
	lastErr error
}

func newSender(c config) (*sender, error) {
	if c.endpoint == "" {
		return nil, errors.New("httpexporter: WithEndpoint: an endpoint is required")
	}
	u, err := url.Parse(c.endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("httpexporter: WithEndpoint: %q is not an http(s) URL", redact(c.endpoint))
	}
	if u.Scheme == "http" && !c.insecure && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("httpexporter: WithEndpoint: plain http to %s needs WithInsecure (https is the default off loopback)", u.Host)
	}
	if c.body > Wrapped {
		return nil, fmt.Errorf("httpexporter: WithBodyFormat: unknown format %d", c.body)
	}
	if c.compression > Zstd {
		return nil, fmt.Errorf("httpexporter: WithCompression: unknown compression %d", c.compression)
	}
	s := &sender{
		endpoint: c.endpoint, redacted: redact(c.endpoint), headers: c.headers.Clone(),
		client: c.client, body: c.body, comp: c.compression,
	}
	s.wrapKey, _ = json.Marshal(c.wrapKey) // a string always marshals
	if s.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if c.tls != nil {
			tr.TLSClientConfig = c.tls
		}
		s.client = &http.Client{Transport: tr}
		s.ownClient = true
	}
	if c.compression == Zstd {
		if s.zenc, err = zstd.NewWriter(nil); err != nil {
			return nil, fmt.Errorf("httpexporter: zstd: %w", err)
		}
	}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redact keeps scheme, host and path: user info and query strings often
// carry credentials, and errors end up in logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Send implements delivery.Sender.
func (s *sender) Send(ctx context.Context, entries [][]byte) error {
	err := s.send(ctx, entries)
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
	return err
}

func (s *sender) send(ctx context.Context, entries [][]byte) error {
	raw := s.bufs.Get().(*bytes.Buffer)
	defer s.bufs.Put(raw)
	raw.Reset()
	s.layout(raw, entries)
	body := raw.Bytes()
	encoding := ""
	switch s.comp {
	case Gzip:
		zbuf := s.bufs.Get().(*bytes.Buffer)
		defer s.bufs.Put(zbuf)
		zbuf.Reset()
		zw := gzip.NewWriter(zbuf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body, encoding = zbuf.Bytes(), "gzip"
	case Zstd:
		body, encoding = s.zenc.EncodeAll(body, nil), "zstd"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request to %s: %w", s.redacted, err)
	}
	for k, v := range s.headers {
		req.Header[k] = v
	}
	if s.body == NDJSON {
		req.Header.Set("Content-Type", "application/x-ndjson")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// url.Error repeats the full URL; say which endpoint without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", s.redacted, err)
	}
	// Drain a little so the connection can be reused, then close.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &delivery.StatusError{Status: resp.StatusCode, Endpoint: s.redacted, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
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

// retryAfter reads a Retry-After header in either form RFC 9110 allows:
// delay-seconds or an HTTP-date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
