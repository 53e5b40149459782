package processor

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// DefaultRedactKeys are the attribute names masked by default, compared
// case-insensitively, also as the last segment of a dotted name
// ("http.request.header.authorization").
var DefaultRedactKeys = []string{
	"password", "passwd", "secret", "token", "api_key", "apikey",
	"authorization", "cookie", "set-cookie", "private_key",
}

// Example patterns for WithPatterns.
var (
	// BearerToken matches an Authorization bearer token.
	BearerToken = regexp.MustCompile(`(?i)\bbearer\s+[a-z0-9._~+/=-]+`)
	// CardNumber matches 13 to 19 digits, optionally grouped by spaces or
	// dashes, as payment card numbers are written.
	CardNumber = regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`)
)

// urlCredentials matches the user-info part of a URL.
var urlCredentials = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)

// Redact masks secrets in records, in place: attribute values whose key is
// on the list (at any depth inside maps and slices), string values matching
// the patterns, and credentials in URLs. Register it before the processors
// that export.
//
// Work per record is bounded (WithLimits): values nested deeper than the
// depth limit, and everything past the key limit, are masked rather than
// inspected, so a hostile record cannot stall the logging call and nothing
// uninspected leaks.
//
// A record with nothing to redact is not modified and costs no allocation.
// Redact is safe for concurrent use.
type Redact struct {
	keys map[string]bool
	// starts[c] has bit n set when a key in keys has length n (63: 63 or
	// more) and starts with c in either case: most attribute names
	// match no key in length and first letter, and need no lookup.
	starts   [256]uint64
	patterns []*regexp.Regexp
	urls     bool
	mask     attribute.Value
	maskText string
	maxDepth int
	maxKeys  int
	states   sync.Pool
}

// RedactOption configures Redact.
type RedactOption interface{ applyRedact(*Redact) }

type redactOption func(*Redact)

func (f redactOption) applyRedact(r *Redact) { f(r) }

// WithKeys replaces the list of attribute names to mask.
func WithKeys(keys ...string) RedactOption {
	return redactOption(func(r *Redact) {
		r.keys = map[string]bool{}
		for _, k := range keys {
			r.keys[strings.ToLower(k)] = true
		}
	})
}

// WithExtraKeys adds names to the list.
func WithExtraKeys(keys ...string) RedactOption {
	return redactOption(func(r *Redact) {
		for _, k := range keys {
			r.keys[strings.ToLower(k)] = true
		}
	})
}

// WithPatterns masks every match of the patterns inside string values and
// string bodies.
func WithPatterns(patterns ...*regexp.Regexp) RedactOption {
	return redactOption(func(r *Redact) { r.patterns = append(r.patterns, patterns...) })
}

// WithoutURLCredentials stops masking user:password@ in URLs (on by default).
func WithoutURLCredentials() RedactOption { return redactOption(func(r *Redact) { r.urls = false }) }

// WithMask sets the replacement text. The default is "***"; "" masks with
// an empty string.
func WithMask(mask string) RedactOption {
	return redactOption(func(r *Redact) { r.maskText, r.mask = mask, attribute.StringValue(mask) })
}

// RedactLimits bounds Redact's work per record. Values beyond the limits
// are masked, not passed through unread.
type RedactLimits struct {
	MaxDepth int // levels of nesting inspected; default 16
	MaxKeys  int // values inspected; default 1024
}

// WithLimits bounds the work per record. The zero value (or a negative
// one) of each field keeps its default.
func WithLimits(l RedactLimits) RedactOption {
	return redactOption(func(r *Redact) {
		if l.MaxDepth > 0 {
			r.maxDepth = l.MaxDepth
		}
		if l.MaxKeys > 0 {
			r.maxKeys = l.MaxKeys
		}
	})
}

// NewRedact returns a Redact with the default key list and URL credential
// masking, adjusted by opts.
func NewRedact(opts ...RedactOption) *Redact {
	r := &Redact{urls: true, maskText: "***", mask: attribute.StringValue("***"), maxDepth: 16, maxKeys: 1024}
	WithKeys(DefaultRedactKeys...).applyRedact(r)
	for _, o := range opts {
		o.applyRedact(r)
	}
	for k := range r.keys {
		if k == "" {
			continue
		}
		bit := uint64(1) << min(len(k), 63)
		c := k[0]
		r.starts[c] |= bit
		if 'a' <= c && c <= 'z' {
			r.starts[c-'a'+'A'] |= bit
		}
	}
	r.states.New = func() any { return r.newState() }
	return r
}

type redactState struct {
	r       *Redact
	budget  int
	attrs   []attribute.KeyValue
	collect func(attribute.KeyValue) bool // the rewriting walk
}

func (r *Redact) newState() *redactState {
	st := &redactState{r: r}
	st.collect = func(kv attribute.KeyValue) bool {
		st.attrs = append(st.attrs, st.redactKV(kv, 0))
		return true
	}
	return st
}

// OnEmit masks what needs masking in record.
func (r *Redact) OnEmit(_ context.Context, record *sdklog.Record) error {
	// The check, which is all most records need, works on a state on the
	// stack: its closure does not escape WalkAttributes, so nothing is
	// allocated or taken from the pool for a record with nothing to mask.
	check := redactState{r: r, budget: r.maxKeys}
	changed := false
	record.WalkAttributes(func(kv attribute.KeyValue) bool {
		changed = check.needs(kv, 0)
		return !changed
	})
	if changed {
		st := r.states.Get().(*redactState)
		st.budget = r.maxKeys
		st.attrs = st.attrs[:0]
		record.WalkAttributes(st.collect)
		record.SetAttributes(st.attrs...)
		clear(st.attrs)
		r.states.Put(st)
	}
	if body := record.Body(); body.Type() != attribute.EMPTY {
		check.budget = r.maxKeys
		if check.needsValue(body, 0) {
			check.budget = r.maxKeys
			record.SetBody(check.redactValue(body, 0))
		}
	}
	return nil
}

func (r *Redact) sensitive(key attribute.Key) bool {
	// One backward pass finds the last segment and whether it is ASCII.
	k := string(key)
	var seen byte
	i := len(k) - 1
	for ; i >= 0 && k[i] != '.'; i-- {
		seen |= k[i]
	}
	k = k[i+1:]
	// Most names match no key in length and first letter. The filter
	// holds only for ASCII names: lower-casing others can change their
	// length.
	if k == "" {
		return r.keys[""]
	}
	if seen < utf8.RuneSelf && r.starts[k[0]]&(uint64(1)<<min(len(k), 63)) == 0 {
		return false
	}
	if r.keys[k] {
		return true
	}
	// Only lower-case when needed: most keys are lower-case already.
	for i := 0; i < len(k); i++ {
		if c := k[i]; 'A' <= c && c <= 'Z' {
			return r.keys[strings.ToLower(k)]
		}
	}
	return false
}

func (st *redactState) needs(kv attribute.KeyValue, depth int) bool {
	if st.r.sensitive(kv.Key) {
		return kv.Value.Type() != attribute.STRING || kv.Value.AsString() != st.r.maskText
	}
	return st.needsValue(kv.Value, depth)
}

func (st *redactState) needsValue(v attribute.Value, depth int) bool {
	st.budget--
	if st.budget < 0 || depth > st.r.maxDepth {
		return true
	}
	switch v.Type() {
	case attribute.STRING:
		return st.r.needsString(v.AsString())
	case attribute.STRINGSLICE:
		for _, s := range v.AsStringSlice() {
			if st.r.needsString(s) {
				return true
			}
		}
	case attribute.SLICE:
		for _, e := range v.AsSlice() {
			if st.needsValue(e, depth+1) {
				return true
			}
		}
	case attribute.MAP:
		for _, kv := range v.AsMap() {
			if st.needs(kv, depth+1) {
				return true
			}
		}
	}
	return false
}

func (r *Redact) needsString(s string) bool {
	if r.urls && hasSchemeSep(s) && urlCredentials.MatchString(s) {
		return true
	}
	for _, p := range r.patterns {
		if p.MatchString(s) {
			return true
		}
	}
	return false
}

// hasSchemeSep reports whether s contains "://", looking for the colon
// with the vectorised IndexByte: most values have none.
func hasSchemeSep(s string) bool {
	for i := strings.IndexByte(s, ':'); i >= 0; {
		if strings.HasPrefix(s[i+1:], "//") {
			return true
		}
		j := strings.IndexByte(s[i+1:], ':')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

func (r *Redact) redactString(s string) string {
	if r.urls && hasSchemeSep(s) {
		s = urlCredentials.ReplaceAllString(s, "${1}"+r.maskText+"@")
	}
	for _, p := range r.patterns {
		s = p.ReplaceAllString(s, r.maskText)
	}
	return s
}

func (st *redactState) redactKV(kv attribute.KeyValue, depth int) attribute.KeyValue {
	if st.r.sensitive(kv.Key) {
		return attribute.KeyValue{Key: kv.Key, Value: st.r.mask}
	}
	return attribute.KeyValue{Key: kv.Key, Value: st.redactValue(kv.Value, depth)}
}

// redactValue returns v with everything sensitive masked. Past the depth or
// key budget it masks the whole value: what was not inspected is not let
// through.
func (st *redactState) redactValue(v attribute.Value, depth int) attribute.Value {
	st.budget--
	if st.budget < 0 || depth > st.r.maxDepth {
		return st.r.mask
	}
	switch v.Type() {
	case attribute.STRING:
		return attribute.StringValue(st.r.redactString(v.AsString()))
	case attribute.STRINGSLICE:
		in := v.AsStringSlice()
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = st.r.redactString(s)
		}
		return attribute.StringSliceValue(out)
	case attribute.SLICE:
		in := v.AsSlice()
		out := make([]attribute.Value, len(in))
		for i, e := range in {
			out[i] = st.redactValue(e, depth+1)
		}
		return attribute.SliceValue(out...)
	case attribute.MAP:
		in := v.AsMap()
		out := make([]attribute.KeyValue, len(in))
		for i, kv := range in {
			out[i] = st.redactKV(kv, depth+1)
		}
		return attribute.MapValue(out...)
	}
	return v
}

// Enabled reports false: Redact exports nothing, so it must not keep a
// logger enabled that every exporting processor has turned off. It still
// sees every record that is emitted (OnEmit does not depend on Enabled).
func (r *Redact) Enabled(context.Context, sdklog.EnabledParameters) bool { return false }

// Shutdown does nothing; Redact holds no resources.
func (r *Redact) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing; Redact buffers nothing.
func (r *Redact) ForceFlush(context.Context) error { return nil }
