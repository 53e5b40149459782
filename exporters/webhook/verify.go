package webhook

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Verification failures, for errors.Is.
var (
	ErrMissingHeaders = errors.New("webhook: missing signature headers")
	ErrBadSignature   = errors.New("webhook: no signature matches")
	ErrStale          = errors.New("webhook: timestamp outside the tolerance")
	ErrReplayed       = errors.New("webhook: message id already seen")
	// ErrNoSecret is returned by Verify when given no secret, or an empty
	// one (an unset environment variable): an empty key would make every
	// forgery verify, since anyone can compute its HMAC.
	ErrNoSecret = errors.New("webhook: no usable secret to verify with")
)

// DefaultTolerance is how far a timestamp may be from the receiver's clock.
const DefaultTolerance = 5 * time.Minute

// VerifyOption configures Verify.
type VerifyOption interface {
	apply(*verifyConfig)
}

type verifyConfig struct {
	scheme    Scheme
	tolerance time.Duration
	replay    ReplayGuard
	now       func() time.Time
}

type verifyOptionFunc func(*verifyConfig)

func (f verifyOptionFunc) apply(c *verifyConfig) { f(c) }

// WithVerifyScheme sets the signing scheme to expect. The default is
// SchemeStandardWebhooks.
func WithVerifyScheme(s Scheme) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) { c.scheme = s })
}

// WithTolerance sets how old or how far in the future a timestamp may be.
// The default is DefaultTolerance; zero or negative keeps it.
func WithTolerance(d time.Duration) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) {
		if d > 0 {
			c.tolerance = d
		}
	})
}

// WithReplayGuard rejects a message id that g has already seen (nil, the
// default, checks nothing).
func WithReplayGuard(g ReplayGuard) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) { c.replay = g })
}

// ReplayGuard remembers message ids. Seen reports whether id was seen
// before, and remembers it.
type ReplayGuard interface {
	Seen(id string, now time.Time) bool
}

// ReplayWindow is an in-memory ReplayGuard that remembers ids for a window
// (the signature tolerance is the natural choice: older messages are
// rejected as stale anyway). It is safe for concurrent use.
//
// Seen costs amortised O(1): ids expire in the order they were first seen,
// so expiry pops from the front of a queue instead of scanning every id.
type ReplayWindow struct {
	window time.Duration
	mu     sync.Mutex
	seen   map[string]time.Time // id -> expiry
	order  []seenID             // ids by expiry, oldest first
	head   int                  // order[:head] are expired
}

type seenID struct {
	id  string
	exp time.Time
}

// NewReplayWindow remembers ids for window.
func NewReplayWindow(window time.Duration) *ReplayWindow {
	return &ReplayWindow{window: window, seen: map[string]time.Time{}}
}

// Seen implements ReplayGuard.
func (w *ReplayWindow) Seen(id string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.head < len(w.order) && now.After(w.order[w.head].exp) {
		old := w.order[w.head]
		// A clock that stepped back may have re-added the id later.
		if exp, ok := w.seen[old.id]; ok && exp.Equal(old.exp) {
			delete(w.seen, old.id)
		}
		w.order[w.head] = seenID{}
		w.head++
	}
	if w.head > len(w.order)/2 && w.head > 64 {
		w.order = append(w.order[:0], w.order[w.head:]...)
		w.head = 0
	}
	if exp, ok := w.seen[id]; ok && !now.After(exp) {
		return true
	}
	exp := now.Add(w.window)
	w.seen[id] = exp
	w.order = append(w.order, seenID{id: id, exp: exp})
	return false
}

// Len returns how many ids the window remembers now.
func (w *ReplayWindow) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// Verify checks that a received webhook was signed with one of secrets, is
// fresh, and (with RejectReplays) is not a replay. body is the raw request
// body. It is for Go services that receive this package's webhooks; any
// Standard Webhooks receiver library verifies them too.
func Verify(header http.Header, body []byte, secrets []Secret, opts ...VerifyOption) error {
	c := verifyConfig{tolerance: DefaultTolerance, now: time.Now}
	for _, o := range opts {
		o.apply(&c)
	}
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	for _, s := range secrets {
		if len(s.key) == 0 {
			return fmt.Errorf("%w: an empty secret (a zero Secret, or an unset variable?)", ErrNoSecret)
		}
	}
	var id, tsText string
	if c.scheme == SchemeFapilog {
		tsText = header.Get(HeaderFapilogTime)
	} else {
		id, tsText = header.Get(HeaderID), header.Get(HeaderTimestamp)
	}
	if tsText == "" || (c.scheme != SchemeFapilog && id == "") {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not a number", ErrMissingHeaders)
	}
	now := c.now()
	if d := now.Sub(time.Unix(ts, 0)); d > c.tolerance || d < -c.tolerance {
		return fmt.Errorf("%w: %v off", ErrStale, d.Round(time.Second))
	}
	if !matches(c.scheme, header, secrets, id, ts, body) {
		return ErrBadSignature
	}
	if c.replay != nil && c.scheme != SchemeFapilog && c.replay.Seen(id, now) {
		return ErrReplayed
	}
	return nil
}

func matches(scheme Scheme, header http.Header, secrets []Secret, id string, ts int64, body []byte) bool {
	tsText := strconv.FormatInt(ts, 10)
	if scheme == SchemeFapilog {
		got, ok := strings.CutPrefix(header.Get(HeaderFapilogSig256), "sha256=")
		raw, err := hex.DecodeString(got)
		if !ok || err != nil {
			return false
		}
		for _, s := range secrets {
			if hmac.Equal(raw, mac(s.key, []byte(tsText), []byte{'.'}, body)) {
				return true
			}
		}
		return false
	}
	for _, sig := range strings.Fields(header.Get(HeaderSignature)) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			continue
		}
		for _, s := range secrets {
			if hmac.Equal(raw, mac(s.key, []byte(id), []byte{'.'}, []byte(tsText), []byte{'.'}, body)) {
				return true
			}
		}
	}
	return false
}
