// Package httppost is the HTTP half of the network sinks: endpoint rules,
// the client, one POST and the reading of its answer. The HTTP and webhook
// exporters share it so that TLS defaults, redaction and Retry-After are
// written once.
package httppost

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StatusError is a receiver's answer other than 2xx.
type StatusError struct {
	Status     int
	Endpoint   string        // without credentials or query
	RetryAfter time.Duration // from a Retry-After header; 0 when absent
	Detail     string        // more about the answer (a redirect's target), or ""
}

func (e *StatusError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s answered %d (%s)", e.Endpoint, e.Status, e.Detail)
	}
	return fmt.Sprintf("%s answered %d", e.Endpoint, e.Status)
}

// DefaultRetryable is the default retry rule: 408, 429 and every 5xx but
// 501 Not Implemented, which no retry will fix.
func DefaultRetryable(status int) bool {
	return status == 408 || status == 429 || (status >= 500 && status != 501)
}

// Evaluate returns the retry decision for Post's errors: a status is
// retried when retryable says so (nil means DefaultRetryable), after its
// Retry-After if it named one; a failure to get any answer is always
// retried.
func Evaluate(retryable func(status int) bool) func(error) (bool, time.Duration) {
	if retryable == nil {
		retryable = DefaultRetryable
	}
	return func(err error) (bool, time.Duration) {
		var se *StatusError
		if errors.As(err, &se) {
			if se.Status == http.StatusRequestEntityTooLarge && se.RetryAfter > 0 {
				// RFC 9110: a 413 with Retry-After is temporary.
				return true, se.RetryAfter
			}
			return retryable(se.Status), se.RetryAfter
		}
		return true, 0
	}
}

// TooLarge reports whether err refuses a request for its size: a 413
// without Retry-After (with one, the condition is temporary, and Evaluate
// retries). A smaller request may go through: a batch is then sent in
// parts.
func TooLarge(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == http.StatusRequestEntityTooLarge && se.RetryAfter <= 0
}

// Config says where and how to post.
type Config struct {
	Endpoint string
	Insecure bool // allow plain http off loopback
	Client   *http.Client
	TLS      *tls.Config
	Headers  http.Header
	// Option is the name of the option that set Endpoint, for errors;
	// HeaderOption the one that set Headers.
	Option       string
	HeaderOption string
}

// Poster posts bodies to one endpoint. It is safe for concurrent use.
type Poster struct {
	endpoint  string
	redacted  string
	headers   http.Header
	client    *http.Client
	ownClient bool

	mu      sync.Mutex
	lastErr error
}

// New validates c and returns a Poster. Plain http is refused off loopback
// unless c.Insecure: logs carry data worth encrypting.
func New(c Config) (*Poster, error) {
	if c.Endpoint == "" {
		return nil, fmt.Errorf("%s: an endpoint is required", c.Option)
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%s(%q): not an http(s) URL%s", c.Option, redactRaw(c.Endpoint), urlHint(c.Endpoint, u))
	}
	if u.Scheme == "http" && !c.Insecure && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%s: plain http to %s needs WithInsecure (https is the default off loopback)", c.Option, u.Host)
	}
	if err := validHeaders(c.Headers); err != nil {
		return nil, fmt.Errorf("%s: %w", c.HeaderOption, err)
	}
	p := &Poster{endpoint: c.Endpoint, redacted: Redact(c.Endpoint), headers: c.Headers.Clone()}
	if c.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if c.TLS != nil {
			tr.TLSClientConfig = c.TLS
		}
		p.client = &http.Client{Transport: tr}
		p.ownClient = true
	} else {
		// A copy, so the caller's client keeps its own redirect policy.
		cl := *c.Client
		p.client = &cl
	}
	// Never follow a redirect: a 301/302/303 turns the POST into a GET
	// without a body (the receiver never gets the entries, yet the answer
	// would be 2xx), and any redirect may carry our credentials and
	// signatures to a host the user did not choose. A 3xx is a failed
	// delivery, reported with its Location.
	p.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return p, nil
}

// validHeaders checks names and values as RFC 9110 defines them, so a bad
// one fails at construction, naming the header, instead of failing every
// request. Values are never echoed: they are often credentials.
func validHeaders(h http.Header) error {
	for name, values := range h {
		if !validToken(name) {
			return fmt.Errorf("header name %q is not a valid HTTP token", name)
		}
		for _, v := range values {
			if !validValue(v) {
				return fmt.Errorf("header %s: value contains a control character or newline", name)
			}
		}
	}
	return nil
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redact keeps scheme, host and path: user info and query strings often
// carry credentials, and errors end up in logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return redactRaw(raw) // what was typed, not a re-encoding of it
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// redactRaw cuts what may be credentials out of a string that is not a
// usable URL, and otherwise keeps it as it was typed: user info before an
// '@' and everything from '?' or '#'.
func redactRaw(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if at := strings.LastIndexByte(raw, '@'); at >= 0 {
		start := 0
		if i := strings.Index(raw, "://"); i >= 0 && i < at {
			start = i + 3
		}
		raw = raw[:start] + "…@" + raw[at+1:]
	}
	return raw
}

// urlHint says what is likely wrong with an endpoint that is not an
// http(s) URL.
func urlHint(raw string, u *url.URL) string {
	switch {
	case raw == "":
		return ""
	case !strings.Contains(raw, "://"):
		return fmt.Sprintf(` (no scheme: did you mean "http://%s" or "https://%s"?)`, redactRaw(raw), redactRaw(raw))
	case u != nil && u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf(" (scheme %q)", u.Scheme)
	case u != nil && u.Host == "":
		return " (no host)"
	}
	return ""
}

// Endpoint returns the endpoint without credentials or query.
func (p *Poster) Endpoint() string { return p.redacted }

// Post sends body with the configured headers plus extra, and returns nil
// for a 2xx, a *StatusError for any other status, or the transport
// error (naming the endpoint, never its secrets).
func (p *Poster) Post(ctx context.Context, body []byte, extra http.Header) error {
	err := p.post(ctx, body, extra)
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
	return err
}

// drainLimit bounds reading what is left of a response body once its
// status is in: the status is the answer, and a peer that trickles the rest
// must not hold the batch (and a Flush waiting for it) until the request
// timeout. Past it the connection is dropped instead of reused.
const drainLimit = 100 * time.Millisecond

func (p *Poster) post(ctx context.Context, body []byte, extra http.Header) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request to %s: %w", p.redacted, err)
	}
	for k, v := range p.headers {
		req.Header[k] = v
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		// url.Error repeats the full URL; name the endpoint without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", p.redacted, err)
	}
	// Drain a little so the connection can be reused, then close.
	drain := time.AfterFunc(drainLimit, cancel)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	drain.Stop()
	_ = resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	se := &StatusError{Status: resp.StatusCode, Endpoint: p.redacted,
		RetryAfter: RetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		se.Detail = "redirect to " + Redact(resp.Header.Get("Location")) + " not followed: configure the final URL"
	}
	return se
}

// LastErr returns the result of the most recent Post.
func (p *Poster) LastErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// Close closes idle connections of a client the Poster made itself; an
// injected client is the caller's to manage.
func (p *Poster) Close() {
	if p.ownClient {
		p.client.CloseIdleConnections()
	}
}

// RetryAfter reads a Retry-After header in either form RFC 9110 allows:
// delay-seconds or an HTTP-date. Absent, malformed or past values give 0.
func RetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		// delay-seconds is digits only. A count too large for a Duration
		// (a broken or hostile peer) saturates rather than wrapping into
		// a short or negative wait; the retry budget then refuses it.
		// ParseUint reports a range error as soon as the digits overflow,
		// before it looks at the rest: check the rest first.
		if strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return 0
		}
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0
		}
		if secs > math.MaxInt64/uint64(time.Second) {
			return math.MaxInt64
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
