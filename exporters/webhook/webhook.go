// Package webhook is a sink that POSTs log entries to a webhook receiver,
// signed so the receiver can trust them: by the Standard Webhooks scheme by
// default (webhook-id, webhook-timestamp, webhook-signature), or as Python
// fapilog signs (X-Fapilog-Timestamp, X-Fapilog-Signature-256).
//
// One entry is sent as a JSON object, several as a JSON array (or always an
// array, with AlwaysArray). Batching, retries and flushing are the shared
// delivery engine's: a retried message keeps its webhook-id, so receivers
// can de-duplicate. A 410 Gone disables the endpoint: it is reported once and
// every later entry is counted as dropped.
//
// Verify is the receiving side, for Go services: signature, freshness and
// replay checks.
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/internal/delivery"
	"github.com/fapilog/fapilog-otel/internal/httppost"
	"github.com/fapilog/fapilog-otel/internal/sinkopts"
)

// ErrGone is wrapped by the errors of a sink whose endpoint answered
// 410 Gone.
var ErrGone = errors.New("webhook: endpoint answered 410 Gone and is disabled")

// Option configures the sink and, through New, its exporter.
type Option interface {
	apply(*config)
}

type config struct {
	endpoint    string
	insecure    bool
	secrets     []Secret
	scheme      Scheme
	alwaysArray bool
	headers     http.Header
	client      *http.Client
	engine      delivery.Config
	exporter    []bridge.Option
	now         func() time.Time
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEndpoint sets the receiver's URL. Required; https unless on loopback
// or WithInsecure.
func WithEndpoint(url string) Option { return optionFunc(func(c *config) { c.endpoint = url }) }

// WithInsecure allows a plain-http endpoint that is not on loopback.
func WithInsecure() Option { return optionFunc(func(c *config) { c.insecure = true }) }

// WithSecrets sets the signing secrets. Required. With StandardWebhooks every
// secret signs (for key rotation); with Fapilog the first one does.
func WithSecrets(secrets ...Secret) Option {
	return optionFunc(func(c *config) { c.secrets = append(c.secrets, secrets...) })
}

// WithScheme sets the signing scheme. The default is StandardWebhooks.
func WithScheme(s Scheme) Option { return optionFunc(func(c *config) { c.scheme = s }) }

// AlwaysArray sends a JSON array even for a single entry.
func AlwaysArray() Option { return optionFunc(func(c *config) { c.alwaysArray = true }) }

// WithHeader adds a header to every request.
func WithHeader(key, value string) Option {
	return optionFunc(func(c *config) { c.headers.Add(key, value) })
}

// WithHTTPClient sends through client instead of one of the sink's own
// (nil, the default, means the sink's own). Redirects are never followed.
func WithHTTPClient(client *http.Client) Option {
	return optionFunc(func(c *config) { c.client = client })
}

// WithBatching sets how many entries (and uncompressed bytes) one request
// carries at most, and how long the first entry of a batch may wait.
// Defaults: 512 entries, 1 MiB, 1s; a zero keeps that part's default, a
// negative one is an error.
func WithBatching(entries, bytes int, age time.Duration) Option {
	return optionFunc(func(c *config) {
		c.engine.MaxBatchEntries, c.engine.MaxBatchBytes, c.engine.MaxBatchAge = entries, bytes, age
	})
}

// WithRetry sets the backoff bounds and the total retry time per request.
// Defaults: 500ms, 30s, 5m; a zero keeps that part's default, a negative
// one is an error.
func WithRetry(initial, max, budget time.Duration) Option {
	return optionFunc(func(c *config) {
		c.engine.InitialBackoff, c.engine.MaxBackoff, c.engine.RetryBudget = initial, max, budget
	})
}

// WithFormat sets the encoding of each entry in an exporter made by New.
func WithFormat(f bridge.Format) Option { return WithExporterOptions(bridge.WithFormat(f)) }

// WithExporterOptions passes options to the bridge exporter New creates.
func WithExporterOptions(opts ...bridge.Option) Option {
	return optionFunc(func(c *config) { c.exporter = append(c.exporter, opts...) })
}

// Sink sends signed webhooks. It is safe for concurrent use.
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

func newConfig(opts []Option) config {
	c := config{headers: http.Header{}, now: time.Now}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// NewSink returns a sink, or an error naming what is wrong with the
// configuration (never a secret).
func NewSink(opts ...Option) (*Sink, error) {
	c := newConfig(opts)
	if err := sinkopts.RefuseExporterOptions("webhook", len(c.exporter)); err != nil {
		return nil, err
	}
	return newSink(c)
}

// New returns an exporter sending through a new sink, named "webhook" unless
// an exporter option names it otherwise.
func New(opts ...Option) (*bridge.Exporter, error) {
	c := newConfig(opts)
	s, err := newSink(c)
	if err != nil {
		return nil, err
	}
	return bridge.NewExporter(s, append([]bridge.Option{bridge.WithName("webhook")}, c.exporter...)...)
}

func newSink(c config) (*Sink, error) {
	if len(c.secrets) == 0 {
		return nil, errors.New("webhook: WithSecrets: at least one secret is required")
	}
	for _, s := range c.secrets {
		if len(s.key) == 0 {
			return nil, errors.New("webhook: WithSecrets: empty secret")
		}
	}
	if c.scheme > Fapilog {
		return nil, fmt.Errorf("webhook: WithScheme: unknown scheme %d", c.scheme)
	}
	post, err := httppost.New(httppost.Config{Endpoint: c.endpoint, Insecure: c.insecure,
		Client: c.client, Headers: c.headers, Option: "webhook: WithEndpoint", HeaderOption: "webhook: WithHeader"})
	if err != nil {
		return nil, err
	}
	var prefix [8]byte
	_, _ = rand.Read(prefix[:])
	snd := &sender{post: post, cfg: c, idPrefix: "msg_" + hex.EncodeToString(prefix[:]) + "_"}
	c.engine.Name = "webhook"
	eng, err := delivery.New(c.engine, snd, snd.report)
	if err != nil {
		return nil, err
	}
	return &Sink{engine: eng, snd: snd}, nil
}

// Write queues a copy of entry.
func (s *Sink) Write(ctx context.Context, entry []byte) error { return s.engine.Add(ctx, entry) }

// Flush sends everything queued and returns nil once every request was
// answered with a 2xx; otherwise the error says how many entries were not
// delivered (and, if ctx ended first, they stay queued).
func (s *Sink) Flush(ctx context.Context) error { return s.engine.Flush(ctx) }

// Stop flushes within ctx, then stops sending.
func (s *Sink) Stop(ctx context.Context) error {
	err := s.engine.Close(ctx)
	s.snd.post.Close()
	return err
}

// HealthCheck returns ErrGone once the endpoint is disabled, else the error
// of the most recent request.
func (s *Sink) HealthCheck(context.Context) error {
	if s.snd.gone.Load() {
		return ErrGone
	}
	return s.snd.post.LastErr()
}

// Lost returns how many entries were dropped or not delivered.
func (s *Sink) Lost() int64 { return s.engine.Lost() }

type sender struct {
	post     *httppost.Poster
	cfg      config
	idPrefix string
	gone     atomic.Bool
	reported atomic.Bool // ErrGone reported once
}

// goneError is a 410 answer: a StatusError the engine will not retry, and
// ErrGone for callers.
type goneError struct{ *delivery.StatusError }

func (e goneError) Error() string   { return ErrGone.Error() + ": " + e.StatusError.Error() }
func (e goneError) Unwrap() []error { return []error{e.StatusError, ErrGone} }

func (s *sender) report(err error) {
	if errors.Is(err, ErrGone) && s.reported.Swap(true) {
		return // said once; the count goes on in Lost and the metrics
	}
	otel.Handle(err)
}

// Send implements delivery.Sender: it signs and posts one message. The id,
// and so webhook-id, is the same on every retry of the batch.
func (s *sender) Send(ctx context.Context, id uint64, entries [][]byte) error {
	if s.gone.Load() {
		return goneError{&delivery.StatusError{Status: http.StatusGone, Endpoint: s.post.Endpoint()}}
	}
	var body bytes.Buffer
	if len(entries) == 1 && !s.cfg.alwaysArray {
		body.Write(entries[0])
	} else {
		body.WriteByte('[')
		for i, e := range entries {
			if i > 0 {
				body.WriteByte(',')
			}
			body.Write(e)
		}
		body.WriteByte(']')
	}
	ts := s.cfg.now().Unix()
	h := http.Header{"Content-Type": {"application/json"}}
	if s.cfg.scheme == Fapilog {
		h.Set(HeaderFapilogTime, strconv.FormatInt(ts, 10))
		h.Set(HeaderFapilogSig256, fapilogSignature(s.cfg.secrets[0], ts, body.Bytes()))
	} else {
		msgID := s.idPrefix + strconv.FormatUint(id, 10)
		// Lower-case names as the specification writes them; set
		// directly so Go does not canonicalise them.
		h[HeaderID] = []string{msgID}
		h[HeaderTimestamp] = []string{strconv.FormatInt(ts, 10)}
		h[HeaderSignature] = []string{standardSignature(s.cfg.secrets, msgID, ts, body.Bytes())}
	}
	err := s.post.Post(ctx, body.Bytes(), h)
	var se *delivery.StatusError
	if errors.As(err, &se) && se.Status == http.StatusGone {
		s.gone.Store(true)
		return goneError{se}
	}
	return err
}
