// Package webhook is a sink that POSTs log entries to a webhook receiver,
// signed so the receiver can trust them: by the Standard Webhooks scheme by
// default (webhook-id, webhook-timestamp, webhook-signature), or as Python
// fapilog signs (X-Fapilog-Timestamp, X-Fapilog-Signature-256).
//
// One entry is sent as a JSON object, several as a JSON array (or always an
// array, with WithAlwaysArray). Batching, retries and flushing are package
// delivery's, configured with WithDelivery as for every network exporter: a
// retried message keeps its webhook-id, so receivers can de-duplicate. A
// 410 Gone disables the endpoint (delivery.ErrGone): it is reported once and
// every later entry is counted as lost.
//
// Verify is the receiving side, for Go services: signature, freshness and
// replay checks.
package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/sinkopts"
)

// Option configures the sink and, through New, its exporter.
type Option interface {
	apply(*config)
}

type config struct {
	endpoint    string
	delivery    delivery.Options
	secrets     []Secret
	scheme      Scheme
	alwaysArray bool
	exporter    []bridge.Option
	now         func() time.Time
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEndpoint sets the receiver's URL. Required; https unless on loopback
// or delivery.Options.AllowInsecure is set.
func WithEndpoint(url string) Option { return optionFunc(func(c *config) { c.endpoint = url }) }

// WithDelivery sets batching, the pending-memory bound, retries,
// concurrency, timeouts, headers and the client: the settings every network
// exporter shares. The zero value of each field keeps its default; a later
// WithDelivery replaces an earlier one.
func WithDelivery(o delivery.Options) Option {
	return optionFunc(func(c *config) { c.delivery = o })
}

// WithSecrets sets the signing secrets. Required. With
// SchemeStandardWebhooks every secret signs (for key rotation); with
// SchemeFapilog the first one does.
func WithSecrets(secrets ...Secret) Option {
	return optionFunc(func(c *config) { c.secrets = append(c.secrets, secrets...) })
}

// WithScheme sets the signing scheme. The default is
// SchemeStandardWebhooks.
func WithScheme(s Scheme) Option { return optionFunc(func(c *config) { c.scheme = s }) }

// WithAlwaysArray sends a JSON array even for a single entry (by default a
// single entry is sent as a bare object).
func WithAlwaysArray() Option { return optionFunc(func(c *config) { c.alwaysArray = true }) }

// WithExporterOptions passes options (the entry format, metrics, a name)
// to the bridge exporter New creates. NewSink refuses them.
func WithExporterOptions(opts ...bridge.Option) Option {
	return optionFunc(func(c *config) { c.exporter = append(c.exporter, opts...) })
}

func newConfig(opts []Option) config {
	c := config{now: time.Now}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// NewSink returns a bare sink (to wrap with bridge.NewExporter yourself),
// or an error naming the option that is wrong (never a secret).
func NewSink(opts ...Option) (*delivery.Sink, error) {
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

func newSink(c config) (*delivery.Sink, error) {
	if len(c.secrets) == 0 {
		return nil, errors.New("webhook: WithSecrets: at least one secret is required")
	}
	for _, s := range c.secrets {
		if len(s.key) == 0 {
			return nil, errors.New("webhook: WithSecrets: empty secret")
		}
	}
	if c.scheme > SchemeFapilog {
		return nil, fmt.Errorf("webhook: WithScheme: unknown scheme %d", c.scheme)
	}
	req := &request{cfg: c}
	return delivery.NewSink("webhook", c.endpoint, req, c.delivery)
}

// request signs and lays out one message.
type request struct{ cfg config }

// Encode implements delivery.Request. The id, and so webhook-id, is the
// same on every retry of the batch.
// Framing implements delivery.Framer: a JSON array, a comma per entry
// (one spare), its brackets.
func (r *request) Framing() (perEntry, perBatch int) { return 1, 2 }

func (r *request) Encode(dst []byte, h http.Header, key string, entries [][]byte) ([]byte, error) {
	start := len(dst)
	if len(entries) == 1 && !r.cfg.alwaysArray {
		dst = append(dst, entries[0]...)
	} else {
		dst = append(dst, '[')
		for i, e := range entries {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, e...)
		}
		dst = append(dst, ']')
	}
	body := dst[start:]
	ts := r.cfg.now().Unix()
	h.Set("Content-Type", "application/json")
	if r.cfg.scheme == SchemeFapilog {
		h.Set(HeaderFapilogTime, strconv.FormatInt(ts, 10))
		h.Set(HeaderFapilogSig256, fapilogSignature(r.cfg.secrets[0], ts, body))
	} else {
		msgID := "msg_" + key
		// Lower-case names as the specification writes them; set
		// directly so Go does not canonicalise them.
		h[HeaderID] = []string{msgID}
		h[HeaderTimestamp] = []string{strconv.FormatInt(ts, 10)}
		h[HeaderSignature] = []string{standardSignature(r.cfg.secrets, msgID, ts, body)}
	}
	return dst, nil
}
